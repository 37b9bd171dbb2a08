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
(:data:`geoapp.settings.VIEW_REQUIRES_SIGNIN`); ``steward`` may also submit registers
for their area and, at the region level, roll back; ``reviewer`` approves or returns
the submissions of areas inside theirs. An account's ``area`` (an adcode, optional:
the whole region when absent) is where it works; the store checks it on every write
(:mod:`geoapp.store.submissions`). A :class:`User` proves a sign-in only when :func:`verify` made it
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

from geoapp.auth.accounts import (
    EDITING_ROLES,
    MIN_PASSWORD_LENGTH,
    ROLES,
    AccountsError,
    User,
    add_user,
    can_view,
    list_users,
    require_role,
    require_signed_in,
    require_steward,
)
from geoapp.auth.signin import (
    BACKOFF,
    FAILURE_WINDOW,
    MAX_CLIENT_FAILURES,
    MAX_FAILURES,
    SignInThrottled,
    signin_log_path,
    verify,
)

__all__ = [
    "BACKOFF",
    "EDITING_ROLES",
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
    "require_role",
    "require_signed_in",
    "require_steward",
    "signin_log_path",
    "verify",
]
