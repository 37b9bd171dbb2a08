"""The accounts file and the signed-in :class:`User`: who may view and who may change data.

Owns ``accounts.toml`` (read, checked, rewritten atomically under a lock), the argon2id
hasher, and the proof of a sign-in: a :class:`User` carries a token bound to this
process, the accounts file and a keyed digest of its password hash, which
:func:`require_signed_in` / :func:`require_steward` check again against the file on
every write. Imports only :mod:`geoapp.settings` and :mod:`geoapp.localised` (its
refusals are :class:`~geoapp.localised.AccessDenied`, a PermissionError that a page or
the command line shows in the user's language).
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import logging
import os
import re
import secrets
import stat
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher

from geoapp import settings
from geoapp.localised import AccessDenied, Localised, OneOf, Word, action_word, role_word

log = logging.getLogger("geoapp.auth")

ROLES = ("viewer", "steward", "reviewer")
#: Roles that may change data: a steward submits, a reviewer approves or returns.
EDITING_ROLES = ("steward", "reviewer")
MIN_PASSWORD_LENGTH = 10
_NAME_MAX = 64
_AREA = re.compile(r"\d{6}")
_KEYS = ("name", "role", "area", "hash", "created_at")

_hasher = PasswordHasher()
# Tokens are bound to this process: a User cannot be forged by constructing it, pickled
# into another process, or survive a restart.
_PROCESS_KEY = secrets.token_bytes(32)


class AccountsError(Localised, ValueError):
    """An accounts file or an account request that cannot be used; says which and why.

    Its ``key`` (``problem.accounts.*``) and ``params`` say the same in the i18n table's
    words, which the command line shows in ``--lang``."""


@dataclass(frozen=True)
class User:
    """A signed-in person. Only :func:`verify` makes one that counts as signed in."""

    name: str
    role: str
    #: The area the account works for (an adcode); "" for the whole region of a store.
    area: str = ""
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
        expected = _token(self.name, self.role, self.area, self._hash_digest, self._accounts)
        return bool(self._token) and hmac.compare_digest(self._token, expected)

    @property
    def is_steward(self) -> bool:
        return self.signed_in and self.role == "steward"

    @property
    def is_reviewer(self) -> bool:
        return self.signed_in and self.role == "reviewer"


def _token(name: str, role: str, area: str, hash_digest: bytes, accounts: str) -> bytes:
    message = json.dumps([name, role, area, hash_digest.hex(), accounts]).encode()
    return hmac.new(_PROCESS_KEY, message, "sha256").digest()


def _hash_digest(password_hash: str) -> bytes:
    return hmac.new(_PROCESS_KEY, b"hash\x00" + password_hash.encode(), "sha256").digest()


def _signed(entry: dict, accounts: Path) -> User:
    digest = _hash_digest(entry["hash"])
    source = str(accounts.absolute())
    area = entry.get("area", "")
    return User(
        entry["name"],
        entry["role"],
        area,
        _token=_token(entry["name"], entry["role"], area, digest, source),
        _hash_digest=digest,
        _accounts=source,
    )


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
        raise AccessDenied(msg, key="problem.access.sign_in", action=action_word(action))
    if not isinstance(user, User) or not user.signed_in:
        msg = f"sign in to {action} (got {type(user).__name__}, not a signed-in user)"
        raise AccessDenied(msg, key="problem.access.sign_in", action=action_word(action))
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
    geoapp.localised.AccessDenied: sign in as a data steward to upload a register
    """
    if user is None:
        msg = f"sign in as a data steward to {action}"
        raise _denied(msg, "problem.access.sign_in_as", ("steward",), action)
    signed = require_signed_in(user, action=action)
    if signed.role != "steward":
        msg = f"{signed.name} is a {signed.role}; only a data steward may {action}"
        raise _denied(msg, "problem.access.role", ("steward",), action, signed)
    return signed


def require_role(user: object, roles: tuple[str, ...], *, action: str) -> User:
    """Return ``user`` if it is signed in with one of ``roles``; else PermissionError.

    Reads the accounts file again, as :func:`require_signed_in`.
    """
    if user is None:
        msg = f"sign in as a {' or '.join(roles)} to {action}"
        raise _denied(msg, "problem.access.sign_in_as", roles, action)
    signed = require_signed_in(user, action=action)
    if signed.role not in roles:
        msg = f"{signed.name} is a {signed.role}; only a {' or '.join(roles)} may {action}"
        raise _denied(msg, "problem.access.role", roles, action, signed)
    return signed


def _denied(
    msg: str, key: str, roles: tuple[str, ...], action: str, user: User | None = None
) -> AccessDenied:
    """The refusal of a role check: the roles that may, what was tried, who tried."""
    who = {} if user is None else {"name": user.name, "role": role_word(user.role)}
    roles_ = OneOf(role_word(r) for r in roles)
    return AccessDenied(msg, key=key, roles=roles_, action=action_word(action), **who)


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
        doing = action_word(action)
        raise AccessDenied(msg, key="problem.access.accounts_unusable", action=doing) from None
    params: dict[str, object] = {"name": user.name, "action": action_word(action)}
    region = Word("problem.word.the_region", "the region")
    if entry is None:
        msg = f"the account {user.name!r} no longer exists; cannot {action}"
        key = "problem.access.account_gone"
    elif entry["role"] != user.role:
        msg = (
            f"the account {user.name!r} is now a {entry['role']}, not the {user.role} "
            f"it signed in as; sign in again to {action}"
        )
        key = "problem.access.role_changed"
        params |= {"role": role_word(entry["role"]), "was": role_word(user.role)}
    elif entry.get("area", "") != user.area:
        msg = (
            f"the account {user.name!r} now works for area {entry.get('area') or 'the region'}, "
            f"not {user.area or 'the region'}; sign in again to {action}"
        )
        key = "problem.access.area_changed"
        params |= {"area": entry.get("area") or region, "was": user.area or region}
    elif not hmac.compare_digest(_hash_digest(entry["hash"]), user._hash_digest):
        msg = f"the password of {user.name!r} changed since this sign-in; sign in again to {action}"
        key = "problem.access.password_changed"
    else:
        return
    raise AccessDenied(msg, key=key, **params)


# --- the accounts file ------------------------------------------------------------------


def _accounts_path(path: str | os.PathLike | None) -> Path:
    return Path(path) if path is not None else settings.ACCOUNTS_PATH


#: The files :func:`_check_private` guards, as words of the i18n table.
_FILE_WORDS = {
    "accounts file": Word("problem.word.accounts_file", "accounts file"),
    "sign-in log": Word("problem.word.signin_log", "sign-in log"),
    "sign-in throttle state": Word("problem.word.throttle_state", "sign-in throttle state"),
}


def _check_private(path: Path, info: os.stat_result, *, what: str) -> None:
    """Refuse a file that is not a regular file or that its group or others may write."""
    file = _FILE_WORDS.get(what, what)
    if not stat.S_ISREG(info.st_mode):
        msg = f"{what} {path} is not a regular file"
        raise AccountsError(msg, key="problem.accounts.not_regular", what=file, path=path)
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        who = "others" if mode & 0o002 else "its group"
        msg = f"{what} {path} is writable by {who} (mode {mode:04o}): chmod 600 {path}"
        word = Word(f"problem.word.{'others' if mode & 0o002 else 'its_group'}", who)
        raise AccountsError(
            msg, key="problem.accounts.writable", what=file, path=path, who=word,
            mode=f"{mode:04o}",
        )  # fmt: skip


def _name_problem(name: object) -> AccountsError | None:
    """Why ``name`` cannot be an account's name (an error to raise), or None."""
    if (
        not isinstance(name, str)
        or not name
        or name != name.strip()
        or len(name) > _NAME_MAX
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        msg = (
            f"user name {name!r} is not usable: 1-{_NAME_MAX} characters, "
            "no control characters, no leading or trailing spaces"
        )
        return AccountsError(msg, key="problem.accounts.bad_name", name=name, max=_NAME_MAX)
    return None


def _entry_problem(entry: object) -> tuple[str, str, dict] | None:
    """What is wrong with one ``[[user]]`` table: (English, the i18n key's last part, its
    parameters), or None."""
    if not isinstance(entry, dict):
        kind = type(entry).__name__
        return f"is a {kind}, not a table", "not_table", {"type": kind}
    missing = [k for k in ("name", "role", "hash") if not isinstance(entry.get(k), str)]
    if missing:
        return f"lacks {', '.join(missing)} (text expected)", "lacks", {"keys": missing}
    name = entry["name"]
    who, params = f"user {name!r}", {"name": name}
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        msg = f"{who} has unknown key(s) {', '.join(unknown)}; expected {', '.join(_KEYS)}"
        return msg, "unknown", params | {"keys": unknown, "expected": list(_KEYS)}
    if entry["role"] not in ROLES:
        roles = [role_word(r) for r in ROLES]
        msg = f"{who} has role {entry['role']!r}; expected one of {ROLES}"
        return msg, "role", params | {"role": entry["role"], "roles": roles}
    if not entry["hash"].startswith("$argon2id$"):
        return f"{who} has a hash that is not an argon2id hash ('$argon2id$...')", "hash", params
    if not isinstance(entry.get("created_at", ""), str):
        return f"{who} has a created_at that is not text", "created_at", params
    area = entry.get("area", "")
    if not isinstance(area, str) or (area and not _AREA.fullmatch(area)):
        msg = f"{who} has area {area!r}; expected an adcode of 6 digits (or none)"
        return msg, "area", params | {"area": area}
    bad_name = _name_problem(name)
    return None if bad_name is None else (str(bad_name), "name", bad_name.params)


def _check_entries(path: Path, data: dict) -> list[dict]:
    unknown = sorted(set(data) - {"user"})
    if unknown:
        msg = f"{path}: unknown top-level key(s) {', '.join(unknown)}; expected [[user]] tables"
        raise AccountsError(msg, key="problem.accounts.unknown_top", path=path, keys=unknown)
    users = data.get("user", [])
    if not isinstance(users, list):
        kind = type(users).__name__
        msg = f"{path}: 'user' must be an array of tables ([[user]]), got {kind}"
        raise AccountsError(msg, key="problem.accounts.users_not_array", path=path, type=kind)
    seen: dict[str, int] = {}
    for i, entry in enumerate(users, start=1):
        problem = _entry_problem(entry)
        if problem:
            text, what, params = problem
            where = "" if text.startswith("user ") else f"user entry {i} "
            msg = f"{path}: {where}{text}"
            key = f"problem.accounts.entry.{what}"
            raise AccountsError(msg, key=key, path=path, entry=i, **params)
        first = seen.setdefault(entry["name"], i)
        if first != i:
            msg = (
                f"{path}: user {entry['name']!r} appears more than once (entries {first} "
                f"and {i}); keep one"
            )
            raise AccountsError(
                msg, key="problem.accounts.duplicate", path=path, name=entry["name"],
                first=first, entry=i,
            )  # fmt: skip
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
        raise AccountsError(
            msg, key="problem.accounts.cannot_read", path=path, detail=exc.strerror
        ) from None
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
            raise AccountsError(
                msg, key="problem.accounts.cannot_read", path=path, detail=exc
            ) from None
    users = _check_entries(path, data)
    if stat.S_IMODE(info.st_mode) & 0o044:
        log.warning(
            "%s is readable by others (mode %04o): chmod 600 %s",
            path,
            stat.S_IMODE(info.st_mode),
            path,
        )
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
    area: str = "",
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
    role : {"viewer", "steward", "reviewer"}
    area : str
        The adcode of the area the account works for (a prefecture or a county-level
        unit); "" for the whole region of whichever store it signs in to. The store
        checks it against its region on every write.
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
    area = _checked_request(name, password, role=role, area=area)
    target = _accounts_path(path)
    try:
        with _locked(target):
            users = _read(target)
            if any(u["name"] == name for u in users) and not replace:
                msg = (
                    f"{target}: user {name!r} exists already; use replace=True (--replace) "
                    "to change it"
                )
                raise AccountsError(msg, key="problem.accounts.exists", path=target, name=name)
            entry = {
                "name": name,
                "role": role,
                **({"area": area} if area else {}),
                "hash": _hasher.hash(password),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            users = [u for u in users if u["name"] != name] + [entry]
            _write_atomic(target, _render(users))
    except OSError as exc:
        detail = exc.strerror or exc
        msg = f"{target}: cannot write the accounts file ({detail})"
        raise AccountsError(
            msg, key="problem.accounts.cannot_write", path=target, detail=detail
        ) from None
    return User(name, role, area)


def _checked_request(name: str, password: str, *, role: str, area: str) -> str:
    """The area of an account request (stripped) once its name, role, area and password
    are checked; else the AccountsError saying what is wrong."""
    problem = _name_problem(name)
    if problem:
        raise problem
    if role not in ROLES:
        msg = f"role {role!r} is not a role; expected one of {', '.join(ROLES)}"
        roles = [role_word(r) for r in ROLES]
        raise AccountsError(msg, key="problem.accounts.role", role=role, roles=roles)
    area = str(area or "").strip()
    if area and not _AREA.fullmatch(area):
        msg = f"area {area!r} is not an adcode; give 6 digits such as 220600 (or none)"
        raise AccountsError(msg, key="problem.accounts.area", area=area)
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        msg = f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
        raise AccountsError(msg, key="problem.accounts.password", min=MIN_PASSWORD_LENGTH)
    return area


def list_users(*, path: str | os.PathLike | None = None) -> list[User]:
    """The accounts of the file (names and roles; none of them signed in)."""
    return [User(u["name"], u["role"], u.get("area", "")) for u in _read(_accounts_path(path))]
