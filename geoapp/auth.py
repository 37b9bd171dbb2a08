"""Accounts and sign-in: who may view, and who may change the data.

Accounts live in a TOML file outside git (:data:`geoapp.settings.ACCOUNTS_PATH`,
default ``var/accounts.toml``), one ``[[user]]`` table each::

    [[user]]
    name = "wangfang"
    role = "steward"
    hash = "$argon2id$v=19$m=65536,t=3,p=4$..."
    created_at = "2025-10-08T09:12:00+00:00"

Passwords are hashed with argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher`,
RFC 9106 low-memory parameters); the file never holds a password. ``geoapp user add``
(or :func:`add_user`) writes it; the file is rewritten atomically (temporary file in
the same folder, fsync, rename) with mode 0600, under an exclusive lock. The file is
checked every time it is read: one writable by its group or by others, a name given
twice, an unknown role or an entry that is not a name, a role and an argon2id hash is
refused with :class:`AccountsError`, which names the file and what is wrong.

Roles: ``viewer`` may view when viewing needs sign-in
(:data:`geoapp.settings.VIEW_REQUIRES_SIGNIN`); ``steward`` may also upload, roll back
and read the audit log. A :class:`User` proves a sign-in only when :func:`verify` made it
(it carries a token bound to this process, to the accounts file and to a keyed digest of
the password hash it was verified against). :func:`require_steward`, which every
editing method of :class:`geoapp.store.Store` calls first, refuses anything else with
:class:`PermissionError`, and so does a sign-in whose account has since been deleted, or
whose role or password has since changed: the accounts file is read again (cheaply:
the parsed file is kept until its inode, size, mtime or ctime change).

Every sign-in attempt is appended to ``signin.log`` beside the accounts file (JSON
lines, mode 0600: time in UTC, name, client address where known, outcome; never the
password). After :data:`MAX_FAILURES` failures for one name, or
:data:`MAX_CLIENT_FAILURES` from one client address, within :data:`FAILURE_WINDOW`,
further attempts are refused for :data:`BACKOFF` without checking the password
(:class:`SignInThrottled`, which says when to try again); a success clears the name's
failures. That state lives in ``signin.throttle.json`` beside the log, read and written
under the same lock as the log, so it holds across Streamlit sessions and processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import logging
import math
import os
import secrets
import stat
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geoapp import settings

__all__ = [
    "BACKOFF",
    "FAILURE_WINDOW",
    "MAX_CLIENT_FAILURES",
    "MAX_FAILURES",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AccountsError",
    "SignInThrottled",
    "User",
    "add_user",
    "can_view",
    "list_users",
    "require_signed_in",
    "require_steward",
    "signin_log_path",
    "verify",
]

ROLES = ("viewer", "steward")
MIN_PASSWORD_LENGTH = 10
_NAME_MAX = 64
_KEYS = ("name", "role", "hash", "created_at")

#: Failed sign-ins for one name, within :data:`FAILURE_WINDOW`, that start a back-off.
MAX_FAILURES = 5
#: Failed sign-ins from one client address (any names) that start a back-off. Larger
#: than :data:`MAX_FAILURES`: one address may be a whole office behind NAT.
MAX_CLIENT_FAILURES = 20
#: How far back failures count.
FAILURE_WINDOW = timedelta(minutes=15)
#: How long sign-ins are refused, unchecked, once the limit is reached.
BACKOFF = timedelta(minutes=15)

SIGNIN_LOG_NAME = "signin.log"
THROTTLE_NAME = "signin.throttle.json"
# Names longer than any account are cut in the log and the throttle state so that a
# flood of junk cannot grow them faster than one short line per attempt.
_LOGGED_NAME_MAX = 2 * _NAME_MAX

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Tokens are bound to this process: a User cannot be forged by constructing it, pickled
# into another process, or survive a restart.
_PROCESS_KEY = secrets.token_bytes(32)


def _now() -> datetime:
    """The clock of sign-in throttling (tests pass ``now=`` or replace this)."""
    return datetime.now(UTC)


class AccountsError(ValueError):
    """An accounts file or an account request that cannot be used; says which and why."""


class SignInThrottled(AccountsError):
    """Too many failed sign-ins for a name or from a client; the password was not checked.

    Attributes
    ----------
    name, client : str or None
        What was throttled: the name, or (``name`` None) the client address.
    until : datetime
        When sign-in may be tried again (UTC).
    retry_after : timedelta
        How long that is from the attempt.
    """

    def __init__(self, *, name: str | None, client: str | None, until: datetime,
                 now: datetime) -> None:  # fmt: skip
        self.name, self.client, self.until = name, client, until
        self.retry_after = max(until - now, timedelta(0))
        who = f"user {name!r}" if name is not None else f"client {client}"
        super().__init__(
            f"too many failed sign-ins for {who}; try again after "
            f"{until:%Y-%m-%d %H:%M:%S} UTC (in {self.minutes} min)"
        )

    @property
    def minutes(self) -> int:
        """Whole minutes to wait, rounded up (at least 1)."""
        return max(1, math.ceil(self.retry_after.total_seconds() / 60))


@dataclass(frozen=True)
class User:
    """A signed-in person. Only :func:`verify` makes one that counts as signed in."""

    name: str
    role: str
    _token: bytes = field(default=b"", repr=False, compare=False)
    # A keyed digest of the password hash the sign-in was checked against (never the
    # hash itself) and the accounts file it came from: what a later write re-checks.
    _hash_digest: bytes = field(default=b"", repr=False, compare=False)
    _accounts: str = field(default="", repr=False, compare=False)

    @property
    def signed_in(self) -> bool:
        """Whether :func:`verify` made this User in this process.

        Says nothing about the account now: :func:`require_signed_in` checks that too.
        """
        expected = _token(self.name, self.role, self._hash_digest, self._accounts)
        return bool(self._token) and hmac.compare_digest(self._token, expected)

    @property
    def is_steward(self) -> bool:
        return self.signed_in and self.role == "steward"


def _token(name: str, role: str, hash_digest: bytes, accounts: str) -> bytes:
    message = json.dumps([name, role, hash_digest.hex(), accounts]).encode()
    return hmac.new(_PROCESS_KEY, message, "sha256").digest()


def _hash_digest(password_hash: str) -> bytes:
    return hmac.new(_PROCESS_KEY, b"hash\x00" + password_hash.encode(), "sha256").digest()


def _signed(entry: dict, accounts: Path) -> User:
    digest = _hash_digest(entry["hash"])
    source = str(accounts.absolute())
    return User(entry["name"], entry["role"], _token(entry["name"], entry["role"], digest, source),
                digest, source)  # fmt: skip


# --- checks used by the store and the pages -----------------------------------------------


def require_signed_in(user: object, *, action: str = "view the data") -> User:
    """Return ``user`` if it is a signed-in :class:`User` whose account is unchanged.

    The accounts file is read again: an account deleted, given another role or another
    password since the sign-in no longer counts.

    Raises
    ------
    PermissionError
        Nobody signed in, a User not made by :func:`verify`, or an account that changed.
    """
    if user is None:
        msg = f"sign in to {action}"
        raise PermissionError(msg)
    if not isinstance(user, User) or not user.signed_in:
        msg = f"sign in to {action} (got {type(user).__name__}, not a signed-in user)"
        raise PermissionError(msg)
    _check_account_unchanged(user, action=action)
    return user


def require_steward(user: object, *, action: str = "change the data") -> User:
    """Return ``user`` if it is a signed-in data steward; else raise PermissionError.

    Like :func:`require_signed_in`, this reads the accounts file again.

    Examples
    --------
    >>> require_steward(None, action="upload a register")
    Traceback (most recent call last):
    ...
    PermissionError: sign in as a data steward to upload a register
    """
    if user is None:
        msg = f"sign in as a data steward to {action}"
        raise PermissionError(msg)
    signed = require_signed_in(user, action=action)
    if signed.role != "steward":
        msg = f"{signed.name} is a {signed.role}; only a data steward may {action}"
        raise PermissionError(msg)
    return signed


def can_view(user: object) -> bool:
    """Whether ``user`` (None when nobody signed in) may view the dashboard."""
    if not settings.VIEW_REQUIRES_SIGNIN:
        return True
    try:
        require_signed_in(user)
    except PermissionError:
        return False
    return True


def _check_account_unchanged(user: User, *, action: str) -> None:
    """Raise PermissionError unless ``user``'s account still has its role and password."""
    path = Path(user._accounts)
    try:
        entry = _by_name(_read(path)).get(user.name)
    except AccountsError:
        # Fail closed, and keep the server's paths out of a message a browser may show.
        log.exception("cannot re-check the account %r", user.name)
        msg = f"the accounts file cannot be used (see the server log); cannot {action}"
        raise PermissionError(msg) from None
    if entry is None:
        msg = f"the account {user.name!r} no longer exists; cannot {action}"
    elif entry["role"] != user.role:
        msg = (f"the account {user.name!r} is now a {entry['role']}, not the {user.role} "
               f"it signed in as; sign in again to {action}")  # fmt: skip
    elif not hmac.compare_digest(_hash_digest(entry["hash"]), user._hash_digest):
        msg = f"the password of {user.name!r} changed since this sign-in; sign in again to {action}"
    else:
        return
    raise PermissionError(msg)


# --- the accounts file ------------------------------------------------------------------


def _accounts_path(path: str | os.PathLike | None) -> Path:
    return Path(path) if path is not None else settings.ACCOUNTS_PATH


def _check_private(path: Path, info: os.stat_result, *, what: str) -> None:
    """Refuse a file that is not a regular file or that its group or others may write."""
    if not stat.S_ISREG(info.st_mode):
        msg = f"{what} {path} is not a regular file"
        raise AccountsError(msg)
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        who = "others" if mode & 0o002 else "its group"
        msg = f"{what} {path} is writable by {who} (mode {mode:04o}): chmod 600 {path}"
        raise AccountsError(msg)


def _name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name or name != name.strip() or len(name) > _NAME_MAX \
            or any(ord(c) < 32 or ord(c) == 127 for c in name):  # fmt: skip
        return (f"user name {name!r} is not usable: 1-{_NAME_MAX} characters, "
                "no control characters, no leading or trailing spaces")  # fmt: skip
    return None


def _entry_problem(entry: object) -> str | None:
    """What is wrong with one ``[[user]]`` table, or None."""
    if not isinstance(entry, dict):
        return f"is a {type(entry).__name__}, not a table"
    missing = [k for k in ("name", "role", "hash") if not isinstance(entry.get(k), str)]
    if missing:
        return f"lacks {', '.join(missing)} (text expected)"
    who = f"user {entry['name']!r}"
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        return f"{who} has unknown key(s) {', '.join(unknown)}; expected {', '.join(_KEYS)}"
    if entry["role"] not in ROLES:
        return f"{who} has role {entry['role']!r}; expected one of {ROLES}"
    if not entry["hash"].startswith("$argon2id$"):
        return f"{who} has a hash that is not an argon2id hash ('$argon2id$...')"
    if not isinstance(entry.get("created_at", ""), str):
        return f"{who} has a created_at that is not text"
    return _name_problem(entry["name"])


def _check_entries(path: Path, data: dict) -> list[dict]:
    unknown = sorted(set(data) - {"user"})
    if unknown:
        msg = f"{path}: unknown top-level key(s) {', '.join(unknown)}; expected [[user]] tables"
        raise AccountsError(msg)
    users = data.get("user", [])
    if not isinstance(users, list):
        msg = f"{path}: 'user' must be an array of tables ([[user]]), got {type(users).__name__}"
        raise AccountsError(msg)
    seen: dict[str, int] = {}
    for i, entry in enumerate(users, start=1):
        problem = _entry_problem(entry)
        if problem:
            where = "" if problem.startswith("user ") else f"user entry {i} "
            msg = f"{path}: {where}{problem}"
            raise AccountsError(msg)
        first = seen.setdefault(entry["name"], i)
        if first != i:
            msg = (f"{path}: user {entry['name']!r} appears more than once (entries {first} "
                   f"and {i}); keep one")  # fmt: skip
            raise AccountsError(msg)
    return users


# Parsed accounts files, keyed by path, with the stat fields that say the file is the same.
_cache: dict[str, tuple[tuple, list[dict]]] = {}


def _read(path: Path) -> list[dict]:
    """The checked ``[[user]]`` entries of the accounts file ([] if there is none)."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return []
    except OSError as exc:
        msg = f"{path}: cannot read the accounts file ({exc.strerror})"
        raise AccountsError(msg) from None
    with f:
        info = os.fstat(f.fileno())
        _check_private(path, info, what="accounts file")
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        cached = _cache.get(str(path))
        if cached is not None and cached[0] == key:
            return [dict(u) for u in cached[1]]
        try:
            data = tomllib.loads(f.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            msg = f"{path}: cannot read the accounts file ({exc})"
            raise AccountsError(msg) from None
    users = _check_entries(path, data)
    if stat.S_IMODE(info.st_mode) & 0o044:
        log.warning("%s is readable by others (mode %04o): chmod 600 %s",
                    path, stat.S_IMODE(info.st_mode), path)  # fmt: skip
    _cache[str(path)] = (key, [dict(u) for u in users])
    return users


def _by_name(users: list[dict]) -> dict[str, dict]:
    return {u["name"]: u for u in users}


def _toml_string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(text, ensure_ascii=False)


def _render(users: list[dict]) -> str:
    lines = ["# geoapp accounts: written by `geoapp user add`. Never commit this file.", ""]
    for entry in users:
        lines.append("[[user]]")
        for key in _KEYS:
            if key in entry:
                lines.append(f"{key} = {_toml_string(str(entry[key]))}")
        lines.append("")
    return "\n".join(lines)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def add_user(
    name: str,
    password: str,
    *,
    role: str,
    path: str | os.PathLike | None = None,
    replace: bool = False,
) -> User:
    """Add an account (or replace one with ``replace=True``) to the accounts file.

    Replacing an account (a new password, even the same one, or a new role) ends the
    sign-ins made with the old one: their next write is refused.

    Parameters
    ----------
    name : str
        Sign-in name: 1-64 characters, no control characters, no surrounding spaces.
    password : str
        At least :data:`MIN_PASSWORD_LENGTH` characters; only its argon2id hash is kept.
    role : {"viewer", "steward"}
    path : path, optional
        The accounts file; :data:`geoapp.settings.ACCOUNTS_PATH` by default. Its folder
        is created if needed.
    replace : bool
        Replace an existing account of that name (new password and role).

    Returns
    -------
    User
        The account, not signed in (sign in with :func:`verify`).

    Raises
    ------
    AccountsError
        A bad name, role or password, an existing account without ``replace``, an
        accounts file that cannot be used, or one that cannot be written.
    """
    problem = _name_problem(name)
    if problem:
        raise AccountsError(problem)
    if role not in ROLES:
        msg = f"role {role!r} is not a role; expected one of {', '.join(ROLES)}"
        raise AccountsError(msg)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        msg = f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        raise AccountsError(msg)
    target = _accounts_path(path)
    try:
        with _locked(target):
            users = _read(target)
            if any(u["name"] == name for u in users) and not replace:
                msg = (f"{target}: user {name!r} exists already; use replace=True (--replace) "
                       "to change it")  # fmt: skip
                raise AccountsError(msg)
            entry = {"name": name, "role": role, "hash": _hasher.hash(password),
                     "created_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
            users = [u for u in users if u["name"] != name] + [entry]
            _write_atomic(target, _render(users))
    except OSError as exc:
        msg = f"{target}: cannot write the accounts file ({exc.strerror or exc})"
        raise AccountsError(msg) from None
    return User(name, role)


def list_users(*, path: str | os.PathLike | None = None) -> list[User]:
    """The accounts of the file (names and roles; none of them signed in)."""
    return [User(u["name"], u["role"]) for u in _read(_accounts_path(path))]


# --- sign-in: the password check, the log and the throttle ------------------------------


def signin_log_path(accounts: str | os.PathLike | None = None) -> Path:
    """The sign-in log beside the accounts file (``var/signin.log`` by default)."""
    return _accounts_path(accounts).with_name(SIGNIN_LOG_NAME)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify(
    name: str,
    password: str,
    *,
    path: str | os.PathLike | None = None,
    client: str | None = None,
    now: datetime | None = None,
) -> User | None:
    """Sign in: the :class:`User` if ``name`` exists and ``password`` matches, else None.

    An unknown name costs one argon2 verification too, so the answer time does not tell
    which names exist. Every attempt is logged (:func:`signin_log_path`); a name or a
    client with too many recent failures is refused before the password is checked.

    Parameters
    ----------
    name, password : str
    path : path, optional
        The accounts file; :data:`geoapp.settings.ACCOUNTS_PATH` by default.
    client : str, optional
        The client's address, when known (logged, and throttled on its own).
    now : datetime, optional
        The time of the attempt, timezone-aware; the clock by default (for tests).

    Raises
    ------
    AccountsError
        The accounts file, the sign-in log or the throttle state cannot be used.
    SignInThrottled
        Too many failures for ``name`` or from ``client``; says when to try again.
    """
    target = _accounts_path(path)
    when = _utc(now)
    entry = _by_name(_read(target)).get(name) if isinstance(name, str) else None
    who = _logged_name(name)
    client = client[:_LOGGED_NAME_MAX] if isinstance(client, str) and client else None
    log_path = signin_log_path(target)
    # One lock around check, verification and record: parallel attempts cannot all slip
    # in before the first failure is counted.
    try:
        with _locked(log_path):
            state = _load_throttle(log_path.with_name(THROTTLE_NAME), when)
            _refuse_if_throttled(state, who, client, when, log_path)
            ok = _password_matches(entry, password)
            reason = None if ok else ("wrong password" if entry else "unknown name")
            _append_log(log_path, _log_record(when, "success" if ok else "failure", who,
                                              client, reason=reason))  # fmt: skip
            _save_throttle(log_path.with_name(THROTTLE_NAME),
                           _record_attempt(state, who, client, when, ok=ok))  # fmt: skip
    except OSError as exc:
        msg = f"{log_path}: cannot keep the sign-in log ({exc.strerror or exc})"
        raise AccountsError(msg) from None
    return _signed(entry, target) if ok and entry else None


def _utc(now: datetime | None) -> datetime:
    when = _now() if now is None else now
    if when.tzinfo is None:
        msg = f"now={when!r} has no time zone; give an aware datetime (UTC)"
        raise ValueError(msg)
    return when.astimezone(UTC)


def _logged_name(name: object) -> str:
    return name[:_LOGGED_NAME_MAX] if isinstance(name, str) else ""


def _password_matches(entry: dict | None, password: object) -> bool:
    stored = entry["hash"] if entry else _dummy_hash()
    try:
        ok = _hasher.verify(stored, password if isinstance(password, str) else "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    return bool(ok) and entry is not None


def _log_record(when: datetime, event: str, name: str, client: str | None, **extra) -> dict:
    record = {"time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
              "event": event, "name": name, "client": client}  # fmt: skip
    record.update({k: v for k, v in extra.items() if v is not None})
    return record


def _append_log(log_path: Path, record: dict) -> None:
    """Append one JSON line; the log is only ever appended to."""
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _check_private(log_path, os.fstat(fd), what="sign-in log")
        os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


# The throttle state: {"name": {name: slot}, "client": {address: slot}}, where a slot is
# {"failures": [epoch seconds, ...], "until": epoch seconds or absent}.
_KINDS = ("name", "client")


def _limit(kind: str) -> int:
    return MAX_FAILURES if kind == "name" else MAX_CLIENT_FAILURES


def _load_throttle(path: Path, when: datetime) -> dict:
    """The throttle state without what has expired by ``when``."""
    try:
        with path.open("rb") as f:
            _check_private(path, os.fstat(f.fileno()), what="sign-in throttle state")
            state = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        state = {}
    except (ValueError, UnicodeDecodeError) as exc:
        # A damaged state file must not lock everybody out; the log keeps the history.
        log.error("%s: unreadable (%s); starting the sign-in throttle afresh", path, exc)
        state = {}
    return _prune(state, when)


def _prune(state: object, when: datetime) -> dict:
    now = when.timestamp()
    oldest = now - FAILURE_WINDOW.total_seconds()
    pruned: dict[str, dict] = {}
    for kind in _KINDS:
        slots = state.get(kind) if isinstance(state, dict) else None
        kept = {}
        for key, slot in slots.items() if isinstance(slots, dict) else ():
            if not isinstance(slot, dict):
                continue
            failures = [t for t in slot.get("failures", []) if _is_time(t) and t > oldest]
            until = slot.get("until")
            if _is_time(until) and until > now:
                kept[key] = {"failures": failures, "until": until}
            elif failures:
                kept[key] = {"failures": failures}
        pruned[kind] = kept
    return pruned


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _throttled_until(state: dict, name: str, client: str | None) -> tuple[str, datetime] | None:
    """Which of the name and the client is refused, and until when (or None)."""
    found = []
    for kind, key in (("name", name), ("client", client)):
        until = state[kind].get(key, {}).get("until") if key is not None else None
        if until is not None:
            found.append((until, kind))
    if not found:
        return None
    until, kind = max(found)
    return kind, datetime.fromtimestamp(until, UTC)


def _refuse_if_throttled(state: dict, name: str, client: str | None, when: datetime,
                         log_path: Path) -> None:  # fmt: skip
    throttled = _throttled_until(state, name, client)
    if throttled is None:
        return
    kind, until = throttled
    _append_log(log_path, _log_record(when, "throttled", name, client, by=kind,
                                      until=until.isoformat(timespec="seconds")))  # fmt: skip
    raise SignInThrottled(name=name if kind == "name" else None, client=client, until=until,
                          now=when)  # fmt: skip


def _record_attempt(state: dict, name: str, client: str | None, when: datetime, *,
                    ok: bool) -> dict:  # fmt: skip
    """The state after one checked attempt (a new dict; ``state`` is not changed)."""
    new = {kind: dict(slots) for kind, slots in state.items()}
    now = when.timestamp()
    if ok:
        new["name"].pop(name, None)  # the client's failures stay: one good account must
        return new  # not clear an address that tried many names
    for kind, key in (("name", name), ("client", client)):
        if key is None:
            continue
        failures = [*new[kind].get(key, {}).get("failures", []), now]
        if len(failures) >= _limit(kind):
            new[kind][key] = {"failures": [], "until": now + BACKOFF.total_seconds()}
        else:
            new[kind][key] = {"failures": failures}
    return new


def _save_throttle(path: Path, state: dict) -> None:
    _write_atomic(path, json.dumps(state, ensure_ascii=False, sort_keys=True))
