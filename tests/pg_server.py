"""A throwaway PostgreSQL + PostGIS server for the store tests and the store benchmark.

:func:`start` runs ``initdb`` into a new temporary folder and ``pg_ctl start`` on a
free local port (TCP on 127.0.0.1, and its unix socket in the same folder);
:meth:`PgServer.database` makes a database with PostGIS, or a copy of a template
database, and gives its ``postgresql://`` URL; :meth:`PgServer.stop` stops the server
(``pg_ctl stop -m fast``) and removes the folder.

The server binaries are found with ``pg_config --bindir`` or under
``/usr/lib/postgresql/<version>/bin`` (Debian's ``postgresql`` package; PostGIS is
``postgresql-<version>-postgis-3``, both installed by ``scripts/setup-system.sh``).
``initdb`` refuses to run as root: when this process is root the server runs as the
``postgres`` system user that Debian's package creates (``runuser -u postgres --``),
and the folder is handed to that user.

Run by hand (a server for a session at the shell, stopped with Ctrl-C)::

    .venv/bin/python tests/pg_server.py
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PgServer", "PgUnavailable", "server_bindir", "start"]

_SERVER_USER = "postgres"


class PgUnavailable(RuntimeError):
    """No server could be started; the message says why. ``missing`` is True when the
    PostgreSQL or PostGIS binaries are not installed at all."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def server_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest version installed)."""
    candidates = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True, timeout=30
        )
        candidates.append(Path(out.stdout.strip()))

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path.parent.name)) or (0,)

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postgis_installed(bindir: Path) -> bool:
    share = bindir.parent / "share" / "extension"
    shares = [share, *Path("/usr/share/postgresql").glob(f"{bindir.parent.name}/extension")]
    return any((s / "postgis.control").is_file() for s in shares)


@dataclass
class PgServer:
    """A running throwaway server: ``folder`` (data, socket, log), ``port``, ``bindir``."""

    folder: Path
    port: int
    bindir: Path
    _as_user: list[str] = field(default_factory=list)
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    def url(self, database: str = "postgres") -> str:
        """The ``postgresql://`` URL of ``database`` (over the unix socket, no password)."""
        return f"postgresql://{_SERVER_USER}@/{database}?host={self.socket_dir}&port={self.port}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as con:
            con.execute(sql)

    def database(
        self, name: str | None = None, *, template: str | None = None, postgis: bool = True
    ) -> str:
        """A new database (with PostGIS unless ``postgis=False``), or a copy of
        ``template``: its URL."""
        name = name or f"t{next(self._names)}"
        if template is None:
            self.execute(f'CREATE DATABASE "{name}"')
            if postgis:
                self.execute("CREATE EXTENSION postgis", database=name)
        else:
            self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return self.url(name)

    @staticmethod
    def dbname(url: str) -> str:
        """The database a URL names."""
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(url)["dbname"])

    def drop(self, name: str) -> None:
        """Drop a database, closing whatever connections it still has."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """``pg_ctl stop -m fast``, then remove the folder."""
        pg_ctl = [*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data")]
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [*pg_ctl, "stop", "-m", "fast", "-w", "-t", "60"],
                capture_output=True,
                check=False,
                timeout=90,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def _server_user() -> tuple[list[str], tuple[int, int] | None]:
    """The command prefix and (uid, gid) to run the server as: the postgres user when
    this process is root, else this user."""
    if os.geteuid() != 0:
        return [], None
    try:
        entry = pwd.getpwnam(_SERVER_USER)
    except KeyError:
        msg = (
            "running as root, and there is no 'postgres' system user to run the server as "
            "(initdb refuses root); install Debian's postgresql package"
        )
        raise PgUnavailable(msg) from None
    if shutil.which("runuser") is None:
        raise PgUnavailable("running as root, and runuser is missing to start the server")
    return ["runuser", "-u", _SERVER_USER, "--"], (entry.pw_uid, entry.pw_gid)


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PgUnavailable(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:] if log and log.exists() else ""
        msg = f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-1500:]} {tail}"
        raise PgUnavailable(msg.strip())


def start(*, durable: bool = False) -> PgServer:
    """initdb + pg_ctl start on a free port; PgUnavailable (with the reason) otherwise.

    ``durable=False`` (the tests) turns fsync off: the server is thrown away, and a
    killed *client* (what the tests kill) does not depend on it. The benchmark keeps
    the defaults.
    """
    bindir = server_bindir()
    if bindir is None:
        msg = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
            "postgresql and postgresql-15-postgis-3 (scripts/setup-system.sh does)"
        )
        raise PgUnavailable(msg, missing=True)
    if not _postgis_installed(bindir):
        msg = f"PostGIS is not installed for the server in {bindir}: install postgresql-*-postgis-3"
        raise PgUnavailable(msg, missing=True)
    as_user, owner = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="geoapp-pg-"))
    (folder / "run").mkdir()
    if owner is not None:
        for path in (folder, folder / "run"):
            os.chown(path, *owner)
    server = PgServer(folder, _free_port(), bindir, as_user)
    try:
        data, log = folder / "data", folder / "server.log"
        initdb = [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", _SERVER_USER]
        _run([*initdb, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"], "initdb")
        options = f"-p {server.port} -k {server.socket_dir} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        command = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
        _run([*command, "-o", options, "-w", "-t", "120", "start"], "pg_ctl start", log)
        server.execute("SELECT 1")
    except BaseException:
        server.stop()
        raise
    return server


if __name__ == "__main__":  # pragma: no cover - a server at the shell
    running = start()
    print(running.database("geoapp"))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
