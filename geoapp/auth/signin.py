"""Sign-in: the password check, the sign-in log and the throttle.

:func:`verify` checks a password against the accounts file (:mod:`geoapp.auth.accounts`)
and returns a signed :class:`~geoapp.auth.accounts.User`; every attempt is appended to
``signin.log`` beside the accounts file, and too many recent failures for a name or from
a client refuse further attempts for a while (:class:`SignInThrottled`). Imports only
:mod:`geoapp.auth.accounts`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geoapp.auth import accounts as _accounts
from geoapp.auth.accounts import (
    _NAME_MAX,
    AccountsError,
    User,
    _accounts_path,
    _by_name,
    _check_private,
    _locked,
    _read,
    _signed,
    _write_atomic,
)

log = logging.getLogger("geoapp.auth")

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


def _now() -> datetime:
    """The clock of sign-in throttling (tests pass ``now=`` or replace this)."""
    return datetime.now(UTC)


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

    def __init__(
        self, *, name: str | None, client: str | None, until: datetime, now: datetime
    ) -> None:
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


def signin_log_path(accounts: str | os.PathLike | None = None) -> Path:
    """The sign-in log beside the accounts file (``var/signin.log`` by default)."""
    return _accounts_path(accounts).with_name(SIGNIN_LOG_NAME)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _accounts._hasher.hash(secrets.token_urlsafe(16))


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
            _append_log(
                log_path,
                _log_record(when, "success" if ok else "failure", who, client, reason=reason),
            )
            _save_throttle(
                log_path.with_name(THROTTLE_NAME), _record_attempt(state, who, client, when, ok=ok)
            )
    except OSError as exc:
        detail = exc.strerror or exc
        msg = f"{log_path}: cannot keep the sign-in log ({detail})"
        raise AccountsError(
            msg, key="problem.accounts.signin_log", path=log_path, detail=detail
        ) from None
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
        ok = _accounts._hasher.verify(stored, password if isinstance(password, str) else "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    return bool(ok) and entry is not None


def _log_record(when: datetime, event: str, name: str, client: str | None, **extra) -> dict:
    record = {
        "time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "event": event,
        "name": name,
        "client": client,
    }
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


def _refuse_if_throttled(
    state: dict, name: str, client: str | None, when: datetime, log_path: Path
) -> None:
    throttled = _throttled_until(state, name, client)
    if throttled is None:
        return
    kind, until = throttled
    _append_log(
        log_path,
        _log_record(
            when, "throttled", name, client, by=kind, until=until.isoformat(timespec="seconds")
        ),
    )
    raise SignInThrottled(
        name=name if kind == "name" else None, client=client, until=until, now=when
    )


def _record_attempt(
    state: dict, name: str, client: str | None, when: datetime, *, ok: bool
) -> dict:
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
