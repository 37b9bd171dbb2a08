import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Modules read the label table when imported, before any fixture: their cached copy
# (geoapp/i18n.py) goes to a folder of this session's, not the user's own cache.
_IMPORT_CACHE = tempfile.mkdtemp(prefix="geoapp-test-cache-")
os.environ["GEOAPP_CACHE_DIR"] = _IMPORT_CACHE

_STATE_VARIABLES = {
    "GEOAPP_STORE": "geoapp.gpkg",
    "GEOAPP_ACCOUNTS": "accounts.toml",
    "GEOAPP_CACHE_DIR": "cache",  # geoapp/admin/cache.py: never the user's own cache
}


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
    shutil.rmtree(_IMPORT_CACHE, ignore_errors=True)


@pytest.fixture
def review_off(monkeypatch):
    """Submissions are approved when accepted (``GEOAPP_REVIEW=off``), here and in the
    subprocesses a test starts: for tests of versioning, uploads and pages that are not
    about review."""
    monkeypatch.setenv("GEOAPP_REVIEW", "off")


# --- accounts of a test module ----------------------------------------------------------------


@pytest.fixture(scope="module")
def accounts(tmp_path_factory, request):
    """An accounts file with the test module's ``ACCOUNTS`` (name -> (role, area)), each
    signing in with the module's ``PASSWORD``. A module whose accounts look otherwise
    defines a fixture of its own."""
    from geoapp import auth

    path = tmp_path_factory.mktemp("accounts") / "accounts.toml"
    for name, (role, area) in request.module.ACCOUNTS.items():
        auth.add_user(name, request.module.PASSWORD, role=role, area=area, path=path)
    return path


@pytest.fixture(scope="module")
def users(accounts, request):
    """The test module's ``ACCOUNTS`` signed in: name -> user."""
    from geoapp import auth

    password = request.module.PASSWORD
    return {name: auth.verify(name, password, path=accounts) for name in request.module.ACCOUNTS}


# --- the store on both backends: GeoPackage and PostgreSQL + PostGIS ---------------------------

#: The store backends the store tests run on (``backend`` fixture).
BACKENDS = ("gpkg", "postgis")


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL + PostGIS server for this session (``tests/pg_server.py``).

    If none can be started the PostGIS tests fail with the reason; they are skipped only
    when the server binaries are not installed at all and ``GEOAPP_TEST_PG=optional``.
    """
    import pg_server as pg

    try:
        server = pg.start()
    except pg.PgUnavailable as exc:
        problem = exc
    else:
        yield server
        server.stop()
        return
    if problem.missing and os.environ.get("GEOAPP_TEST_PG", "").lower() == "optional":
        pytest.skip(f"GEOAPP_TEST_PG=optional: {problem}")
    pytest.fail(f"cannot start the PostgreSQL test server: {problem}", pytrace=False)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each store test once on a GeoPackage file, once on PostgreSQL + PostGIS."""
    if request.param == "postgis":
        request.getfixturevalue("pg_server")
    return request.param


@pytest.fixture(scope="session")
def _jilin_templates(tmp_path_factory, request):
    """backend -> the Jilin store created from the demo data, once per session: a file,
    or the name of a template database."""
    made = {}

    def template(backend: str):
        if backend not in made:
            from geoapp.datasource import EmbeddedSource
            from geoapp.store import Store

            if backend == "gpkg":
                where = tmp_path_factory.mktemp("jilin") / "store.gpkg"
                Store.open(where, seed=EmbeddedSource())
                made[backend] = where
            else:
                server = request.getfixturevalue("pg_server")
                Store.open(server.database("jilin"), seed=EmbeddedSource()).close()
                made[backend] = "jilin"
        return made[backend]

    return template


@pytest.fixture
def jilin_store_at(_jilin_templates, tmp_path, request):
    """A function: backend -> where a fresh copy of the Jilin demo store is (a file in
    ``tmp_path``, or a new database copied from the template, dropped after the test)."""
    databases = []

    def copy(backend: str):
        template = _jilin_templates(backend)
        if backend == "gpkg":
            where = tmp_path / f"store-{len(list(tmp_path.glob('store-*.gpkg')))}.gpkg"
            shutil.copy(template, where)
            return where
        server = request.getfixturevalue("pg_server")
        url = server.database(template=template)
        databases.append(server.dbname(url))
        return url

    yield copy
    if databases:
        server = request.getfixturevalue("pg_server")
        for name in databases:
            server.drop(name)
