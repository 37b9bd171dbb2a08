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
the same folder, fsync, rename) with mode 0600, under an exclusive lock.

Roles: ``viewer`` may view when viewing needs sign-in
(:data:`geoapp.settings.VIEW_REQUIRES_SIGNIN`); ``steward`` may also upload, roll back
and read the audit log. A :class:`User` proves a sign-in only when :func:`verify` made it
(it carries a token bound to this process); :func:`require_steward` refuses anything
else with :class:`PermissionError`, which is what every editing method of
:class:`geoapp.store.Store` calls first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import secrets
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geoapp import settings

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AccountsError",
    "User",
    "add_user",
    "can_view",
    "list_users",
    "require_signed_in",
    "require_steward",
    "verify",
]

ROLES = ("viewer", "steward")
MIN_PASSWORD_LENGTH = 10
_NAME_MAX = 64

_hasher = PasswordHasher()
# Tokens are bound to this process: a User cannot be forged by constructing it, pickled
# into another process, or survive a restart.
_PROCESS_KEY = secrets.token_bytes(32)


class AccountsError(ValueError):
    """An accounts file or an account request that cannot be used; says which and why."""


@dataclass(frozen=True)
class User:
    """A signed-in person. Only :func:`verify` makes one that counts as signed in."""

    name: str
    role: str
    _token: bytes = field(default=b"", repr=False, compare=False)

    @property
    def signed_in(self) -> bool:
        return bool(self._token) and hmac.compare_digest(self._token, _token(self.name, self.role))

    @property
    def is_steward(self) -> bool:
        return self.signed_in and self.role == "steward"


def _token(name: str, role: str) -> bytes:
    return hmac.new(_PROCESS_KEY, f"{name}\x00{role}".encode(), "sha256").digest()


def _signed(name: str, role: str) -> User:
    return User(name, role, _token(name, role))


# --- checks used by the store and the pages -----------------------------------------------


def require_signed_in(user: object, *, action: str = "view the data") -> User:
    """Return ``user`` if it is a signed-in :class:`User`; else raise PermissionError."""
    if user is None:
        msg = f"sign in to {action}"
        raise PermissionError(msg)
    if not isinstance(user, User) or not user.signed_in:
        msg = f"sign in to {action} (got {type(user).__name__}, not a signed-in user)"
        raise PermissionError(msg)
    return user


def require_steward(user: object, *, action: str = "change the data") -> User:
    """Return ``user`` if it is a signed-in data steward; else raise PermissionError.

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
    return isinstance(user, User) and user.signed_in


# --- the accounts file ------------------------------------------------------------------


def _accounts_path(path: str | os.PathLike | None) -> Path:
    return Path(path) if path is not None else settings.ACCOUNTS_PATH


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read the accounts file ({exc})"
        raise AccountsError(msg) from None
    users = data.get("user", [])
    if not isinstance(users, list):
        msg = f"{path}: 'user' must be an array of tables ([[user]]), got {type(users).__name__}"
        raise AccountsError(msg)
    for i, entry in enumerate(users, start=1):
        missing = [k for k in ("name", "role", "hash") if not isinstance(entry.get(k), str)]
        if missing:
            msg = f"{path}: user entry {i} lacks {', '.join(missing)} (text expected)"
            raise AccountsError(msg)
        if entry["role"] not in ROLES:
            msg = (f"{path}: user {entry['name']!r} has role {entry['role']!r}; "
                   f"expected one of {ROLES}")  # fmt: skip
            raise AccountsError(msg)
    return users


def _toml_string(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(text, ensure_ascii=False)


def _render(users: list[dict]) -> str:
    lines = ["# geoapp accounts: written by `geoapp user add`. Never commit this file.", ""]
    for entry in users:
        lines.append("[[user]]")
        for key in ("name", "role", "hash", "created_at"):
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
        A bad name, role or password, or an existing account without ``replace``.
    """
    if not isinstance(name, str) or not name or name != name.strip() or len(name) > _NAME_MAX \
            or any(ord(c) < 32 or ord(c) == 127 for c in name):  # fmt: skip
        msg = (f"user name {name!r} is not usable: 1-{_NAME_MAX} characters, "
               "no control characters, no leading or trailing spaces")  # fmt: skip
        raise AccountsError(msg)
    if role not in ROLES:
        msg = f"role {role!r} is not a role; expected one of {', '.join(ROLES)}"
        raise AccountsError(msg)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        msg = f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        raise AccountsError(msg)
    target = _accounts_path(path)
    with _locked(target):
        users = _read(target)
        existing = [u for u in users if u["name"] == name]
        if existing and not replace:
            msg = (
                f"{target}: user {name!r} exists already; use replace=True (--replace) to change it"
            )
            raise AccountsError(msg)
        entry = {"name": name, "role": role, "hash": _hasher.hash(password),
                 "created_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        users = [u for u in users if u["name"] != name] + [entry]
        _write_atomic(target, _render(users))
    return User(name, role)


def list_users(*, path: str | os.PathLike | None = None) -> list[User]:
    """The accounts of the file (names and roles; none of them signed in)."""
    return [User(u["name"], u["role"]) for u in _read(_accounts_path(path))]


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify(name: str, password: str, *, path: str | os.PathLike | None = None) -> User | None:
    """Sign in: the :class:`User` if ``name`` exists and ``password`` matches, else None.

    An unknown name costs one argon2 verification too, so the answer time does not tell
    which names exist.
    """
    users = {u["name"]: u for u in _read(_accounts_path(path))}
    entry = users.get(name) if isinstance(name, str) else None
    stored = entry["hash"] if entry else _dummy_hash()
    try:
        ok = _hasher.verify(stored, password if isinstance(password, str) else "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or entry is None:
        return None
    return _signed(entry["name"], entry["role"])
