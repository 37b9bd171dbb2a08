import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_STATE_VARIABLES = {"GEOAPP_STORE": "geoapp.gpkg", "GEOAPP_ACCOUNTS": "accounts.toml"}


@pytest.fixture(autouse=True, scope="session")
def _isolated_state(tmp_path_factory):
    """The data store and the accounts of this test session live in a temporary folder.

    Tests never write into the repository's ``var/``: other sessions run beside this one
    and CI starts from a clean clone. Settings read the environment when used, so the
    store that ``default_source()`` creates lands here (and subprocesses inherit it).
    """
    state = tmp_path_factory.mktemp("geoapp-var")
    saved = {k: os.environ.get(k) for k in _STATE_VARIABLES}
    for variable, name in _STATE_VARIABLES.items():
        os.environ[variable] = str(state / name)
    yield state
    for variable, value in saved.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value


@pytest.fixture
def review_off(monkeypatch):
    """Submissions are approved when accepted (``GEOAPP_REVIEW=off``), here and in the
    subprocesses a test starts: for tests of versioning, uploads and pages that are not
    about review."""
    monkeypatch.setenv("GEOAPP_REVIEW", "off")
