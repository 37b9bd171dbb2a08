"""Starting the dashboard with the project's own ``streamlit_config.toml``.

Streamlit reads its settings only from ``.streamlit/config.toml`` or ``STREAMLIT_*``
variables; the launcher turns every key of ``streamlit_config.toml`` into a
``--section.key=value`` flag of ``streamlit run``, so the file in the repository is the
configuration the app really runs with, wherever it is started from.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from geoapp.paths import ROOT

CONFIG_PATH = ROOT / "streamlit_config.toml"
ENTRY_SCRIPT = ROOT / "streamlit_app.py"


def _flag_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def config_flags(path: Path = CONFIG_PATH, **overrides: object) -> list[str]:
    """``--section.key=value`` flags for every setting in the config file.

    ``overrides`` use ``section_key`` names, e.g. ``server_port=8600``.

    Examples
    --------
    >>> "--server.headless=true" in config_flags()
    True
    """
    with open(path, "rb") as f:
        config = tomllib.load(f)
    settings: dict[str, object] = {}
    for section, values in config.items():
        if not isinstance(values, dict):
            msg = f"{path}: top-level key {section!r} must be a [section] table"
            raise ValueError(msg)
        for key, value in values.items():
            if isinstance(value, (dict, list)):
                msg = f"{path}: [{section}] {key} must be a plain value, got {type(value).__name__}"
                raise ValueError(msg)
            settings[f"{section}.{key}"] = value
    for name, value in overrides.items():
        section, _, key = name.partition("_")
        settings[f"{section}.{key}"] = value
    return [f"--{k}={_flag_value(v)}" for k, v in settings.items()]


def streamlit_command(**overrides: object) -> list[str]:
    # pages.serve is streamlit's own CLI with the page mode settled first (see there).
    return [sys.executable, "-m", "pages.serve", "run", str(ENTRY_SCRIPT), *config_flags(**overrides)]


def run(**overrides: object) -> int:
    """Run the dashboard in the foreground; returns streamlit's exit code."""
    # Static files (./static) are looked up next to the entry script, and the working
    # directory decides nothing else: start from the repository root anyway.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.call(streamlit_command(**overrides), cwd=ROOT, env=env)
