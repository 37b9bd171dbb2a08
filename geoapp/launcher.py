"""Starting the dashboard with the project's own ``streamlit_config.toml``.

Streamlit reads its settings only from ``.streamlit/config.toml`` or ``STREAMLIT_*``
variables; the launcher turns every key of ``streamlit_config.toml`` into a
``--section.key=value`` flag of ``streamlit run``, so the file in the repository is the
configuration the app really runs with, wherever it is started from.

``geoapp run --region 211100`` opens the dashboard on that region: the launcher hands
it to the server in :data:`REGION_VARIABLE`, and a page without ``?region=`` in its
address shows :func:`dashboard_region`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

from geoapp.paths import ROOT

CONFIG_PATH = ROOT / "streamlit_config.toml"
ENTRY_SCRIPT = ROOT / "streamlit_app.py"
#: The region a dashboard opens on when the address names none (``geoapp run --region``).
REGION_VARIABLE = "GEOAPP_REGION"


def dashboard_region() -> str:
    """The region of :data:`REGION_VARIABLE`, else the embedded default (checked by the
    page that reads it, like any region in an address)."""
    from geoapp.regions import DEFAULT_REGION  # here: the launcher itself needs no geopandas

    return os.environ.get(REGION_VARIABLE, "").strip() or DEFAULT_REGION


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
    # pages.serve is streamlit's own CLI with the page mode settled first, static files
    # gzipped and the map's text sent as UTF-8 (see there).
    return [
        sys.executable,
        "-m",
        "pages.serve",
        "run",
        str(ENTRY_SCRIPT),
        *config_flags(**overrides),
    ]


def run(*, region: str | None = None, **overrides: object) -> int:
    """Run the dashboard in the foreground; returns streamlit's exit code.

    ``region`` (a built region's adcode) is the region pages show when their address
    names none; the embedded default otherwise.
    """
    # Static files (./static) are looked up next to the entry script, and the working
    # directory decides nothing else: start from the repository root anyway.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    if region:
        env[REGION_VARIABLE] = region
    child = subprocess.Popen(streamlit_command(**overrides), cwd=ROOT, env=env)
    return _wait_forwarding(child)


#: Signals ``geoapp run`` passes on to the server rather than dying of them, so that a
#: service manager's stop or a terminal's Ctrl-C never leaves Streamlit holding the port.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _wait_forwarding(child: subprocess.Popen) -> int:
    """Wait for ``child``, passing on the signals of :data:`FORWARDED_SIGNALS`; its exit
    code (128 + the signal's number when a signal ended it, as a shell reports it)."""

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED_SIGNALS}
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # a handler replaced by a library: keep waiting
                forward(signal.SIGINT, None)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 - code if code < 0 else code


# --- a server in the background (end-to-end tests and benchmarks) ----------------------------


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_background(
    cmd: list[str], *, log: Path, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start a server in its own process group, output to ``log``; stop it with :func:`stop`."""
    if env is None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_healthy(port: int, process: subprocess.Popen, log: Path, *, timeout: float = 60.0) -> None:
    """Wait until Streamlit answers ``/_stcore/health``; RuntimeError with the log's tail if not."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            msg = (
                f"the server exited with code {process.returncode} before it was healthy:\n"
                + log.read_text(errors="replace")[-3000:]
            )
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            msg = (
                f"the server on port {port} was not healthy within {timeout:.0f} s:\n"
                + log.read_text(errors="replace")[-3000:]
            )
            raise RuntimeError(msg)
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it and its children), then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
