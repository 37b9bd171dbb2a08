"""Accounts, sign-in and settings: hashed passwords, roles, nothing tracked by git."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from geoapp import auth, cli, settings
from geoapp.datasource import EmbeddedSource
from geoapp.paths import ROOT
from geoapp.store import Store

# Versions and uploads, not review: a submission is approved when it is accepted.
pytestmark = pytest.mark.usefixtures("review_off")

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path):
    path = tmp_path / "accounts.toml"
    auth.add_user("wang", PASSWORD, role="steward", path=path)
    return path


def test_password_is_stored_as_an_argon2id_hash_only(accounts):
    text = accounts.read_text(encoding="utf-8")
    entry = tomllib.loads(text)["user"][0]
    assert entry["name"] == "wang" and entry["role"] == "steward"
    assert entry["hash"].startswith("$argon2id$")
    assert PASSWORD not in text and entry["hash"] != PASSWORD
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600


def test_verify_signs_in_only_with_the_right_password(accounts):
    user = auth.verify("wang", PASSWORD, path=accounts)
    assert user is not None and user.name == "wang" and user.role == "steward"
    assert user.signed_in and user.is_steward
    assert auth.verify("wang", PASSWORD + "x", path=accounts) is None
    assert auth.verify("wang", "", path=accounts) is None
    assert auth.verify("nobody", PASSWORD, path=accounts) is None


def test_an_unknown_user_costs_one_argon2_verification_too(accounts, monkeypatch):
    calls = []
    real = auth.accounts._hasher

    class Counting:
        def hash(self, password):
            return real.hash(password)

        def verify(self, stored, password):
            calls.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(auth.accounts, "_hasher", Counting())
    assert auth.verify("nobody", PASSWORD, path=accounts) is None
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_duplicate_user_is_refused_unless_replaced(accounts):
    with pytest.raises(auth.AccountsError, match="exists already"):
        auth.add_user("wang", "another password", role="viewer", path=accounts)
    auth.add_user("wang", "another password", role="viewer", path=accounts, replace=True)
    assert auth.verify("wang", PASSWORD, path=accounts) is None
    assert auth.verify("wang", "another password", path=accounts).role == "viewer"
    assert [u.name for u in auth.list_users(path=accounts)] == ["wang"]


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("li", "short", "viewer", "at least 10 characters"),
        ("li", "long enough pw", "admin", "not a role"),
        (" li", "long enough pw", "viewer", "not usable"),
        ("", "long enough pw", "viewer", "not usable"),
        ("l\ni", "long enough pw", "viewer", "not usable"),
    ],
)
def test_bad_account_requests_are_refused(tmp_path, name, password, role, message):
    path = tmp_path / "accounts.toml"
    with pytest.raises(auth.AccountsError, match=message):
        auth.add_user(name, password, role=role, path=path)
    assert not path.exists()


def test_names_with_quotes_and_chinese_round_trip(tmp_path):
    path = tmp_path / "accounts.toml"
    auth.add_user('王"芳\\', PASSWORD, role="viewer", path=path)
    assert auth.verify('王"芳\\', PASSWORD, path=path).name == '王"芳\\'


def test_a_broken_accounts_file_names_itself(tmp_path):
    path = tmp_path / "accounts.toml"
    path.write_text('[[user]]\nname = "x"\nrole = "root"\nhash = "h"\n', encoding="utf-8")
    with pytest.raises(auth.AccountsError, match=r"accounts.toml: user 'x' has role 'root'"):
        auth.verify("x", PASSWORD, path=path)


def test_only_a_signed_in_steward_passes(accounts):
    auth.add_user("li", "viewer password", role="viewer", path=accounts)
    viewer = auth.verify("li", "viewer password", path=accounts)
    steward = auth.verify("wang", PASSWORD, path=accounts)
    assert auth.require_steward(steward) is steward
    with pytest.raises(PermissionError, match="sign in as a data steward to upload"):
        auth.require_steward(None, action="upload")
    with pytest.raises(PermissionError, match="li is a viewer"):
        auth.require_steward(viewer)
    forged = auth.User("wang", "steward")  # made by hand, not by verify()
    assert not forged.signed_in
    with pytest.raises(PermissionError, match="not a signed-in user"):
        auth.require_steward(forged)
    with pytest.raises(PermissionError):
        auth.require_steward("wang")
    assert auth.require_signed_in(viewer) is viewer


def test_viewing_needs_sign_in_only_when_configured(accounts, monkeypatch):
    monkeypatch.delenv("GEOAPP_VIEW_REQUIRES_SIGNIN", raising=False)
    assert auth.can_view(None)
    monkeypatch.setenv("GEOAPP_VIEW_REQUIRES_SIGNIN", "yes")
    assert not auth.can_view(None)
    assert not auth.can_view(auth.User("wang", "steward"))
    assert auth.can_view(auth.verify("wang", PASSWORD, path=accounts))


# --- settings ----------------------------------------------------------------------------


def test_settings_read_the_environment_when_used(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "x.gpkg"))
    assert tmp_path / "x.gpkg" == settings.STORE_PATH
    assert settings.store_path() == tmp_path / "x.gpkg"
    assert settings.store_path("210000") == tmp_path / "x-210000.gpkg"
    monkeypatch.setenv("GEOAPP_STORE", "elsewhere/y.gpkg")  # relative: to the repository
    assert settings.STORE_PATH == ROOT / "elsewhere" / "y.gpkg"
    monkeypatch.setenv("GEOAPP_MAX_UPLOAD_BYTES", "5 MiB")
    assert settings.MAX_UPLOAD_BYTES == 5 * 2**20
    monkeypatch.setenv("GEOAPP_MAX_UPLOAD_BYTES", "lots")
    with pytest.raises(ValueError, match="GEOAPP_MAX_UPLOAD_BYTES='lots' is not a size"):
        _ = settings.MAX_UPLOAD_BYTES
    monkeypatch.setenv("GEOAPP_VIEW_REQUIRES_SIGNIN", "maybe")
    with pytest.raises(ValueError, match="not a yes/no value"):
        _ = settings.VIEW_REQUIRES_SIGNIN


def test_assigning_a_setting_overrides_the_environment(monkeypatch):
    # Not monkeypatch.setattr: its undo would pin the value it read from the environment.
    monkeypatch.setenv("GEOAPP_MAX_UPLOAD_BYTES", "1000")
    settings.MAX_UPLOAD_BYTES = 42
    try:
        assert settings.MAX_UPLOAD_BYTES == 42
    finally:
        del settings.MAX_UPLOAD_BYTES
    assert settings.MAX_UPLOAD_BYTES == 1000
    monkeypatch.delenv("GEOAPP_MAX_UPLOAD_BYTES")
    assert settings.MAX_UPLOAD_BYTES == settings.DEFAULTS["MAX_UPLOAD_BYTES"] == 20_000_000


def test_the_test_session_never_uses_the_repository_var_folder():
    assert ROOT / "var" not in settings.STORE_PATH.parents
    assert ROOT / "var" not in settings.ACCOUNTS_PATH.parents


def test_default_state_files_are_outside_git(monkeypatch):
    """The default store and accounts file lie in var/, which git ignores."""
    defaults = settings.DEFAULTS
    assert defaults["STORE_PATH"].parent == defaults["ACCOUNTS_PATH"].parent == ROOT / "var"
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in (defaults["STORE_PATH"], defaults["ACCOUNTS_PATH"]):
        relative = str(path.relative_to(ROOT))
        ignored = subprocess.run([git, "check-ignore", "-q", relative], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{relative} is not ignored by git"
    tracked = subprocess.run(
        [git, "ls-files", "var"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""


# --- the command line ----------------------------------------------------------------------


def test_cli_user_add_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        cli.main(
            [
                "user",
                "add",
                "--lang",
                "en",
                "zhao",
                "--role",
                "steward",
                "--password-stdin",
                "--accounts",
                str(path),
            ]
        )
        == 0
    )
    assert "steward zhao" in capsys.readouterr().out
    assert auth.verify("zhao", PASSWORD, path=path).is_steward
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        cli.main(
            [
                *["user", "add", "zhao", "--role", "viewer", "--password-stdin", "--lang", "en"],
                "--accounts",
                str(path),
            ]
        )
        == 2
    )
    assert "exists already" in capsys.readouterr().err


def test_cli_user_add_prompts_twice_and_refuses_a_mismatch(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.toml"
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert (
        cli.main(
            ["user", "add", "qian", "--role", "viewer", "--lang", "en", "--accounts", str(path)]
        )
        == 2
    )
    assert "differ" in capsys.readouterr().err
    assert not path.exists()
    answers = iter([PASSWORD, PASSWORD])
    assert (
        cli.main(
            ["user", "add", "qian", "--role", "viewer", "--lang", "en", "--accounts", str(path)]
        )
        == 0
    )
    assert auth.verify("qian", PASSWORD, path=path).role == "viewer"


# --- a sign-in is re-checked against the accounts file at every write ----------------------

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def entries(path):
    return tomllib.loads(path.read_text(encoding="utf-8"))["user"]


def write_accounts(path, users, *, mode=0o600):
    """Write ``users`` (dicts) as an accounts file by hand, as an editor or attacker would."""
    lines = []
    for entry in users:
        lines.append("[[user]]")
        lines += [
            f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in entry.items()
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(path, mode)


def first_three_facilities(store):
    return pd.DataFrame(store.facilities().drop(columns="geometry")).head(3)


def add_three(store, user):
    return store.add_facilities(
        first_three_facilities(store),
        user=user,
        as_of="2025-12-31",
        file_name="three.csv",
        file_bytes=b"three",
        accepted=3,
        flagged=0,
        rejected=0,
    )


def test_a_deleted_steward_can_no_longer_write_to_the_store(accounts, tmp_path):
    auth.add_user("li", "viewer password", role="viewer", path=accounts)
    store = Store.open(tmp_path / "store.gpkg", seed=EmbeddedSource())
    steward = auth.verify("wang", PASSWORD, path=accounts)
    assert add_three(store, steward) == 2
    write_accounts(accounts, [u for u in entries(accounts) if u["name"] != "wang"])
    assert steward.signed_in  # the token is still genuine; the account is not
    with pytest.raises(PermissionError, match="the account 'wang' no longer exists; cannot add"):
        add_three(store, steward)
    with pytest.raises(PermissionError, match="'wang' no longer exists; cannot roll back"):
        store.rollback("facilities", 1, user=steward)
    assert store.current_version("facilities") == 2
    assert [u.name for u in auth.list_users(path=accounts)] == ["li"]


def test_a_role_changed_in_the_file_ends_the_stewards_sign_in(accounts):
    steward = auth.verify("wang", PASSWORD, path=accounts)
    assert auth.require_steward(steward) is steward
    write_accounts(accounts, [u | {"role": "viewer"} for u in entries(accounts)])
    with pytest.raises(PermissionError, match="'wang' is now a viewer, not the steward it signed"):
        auth.require_steward(steward, action="upload")
    with pytest.raises(PermissionError, match="is now a viewer"):
        auth.require_signed_in(steward)
    # Signing in again gives what the file now says: a viewer.
    again = auth.verify("wang", PASSWORD, path=accounts)
    assert again.role == "viewer" and auth.require_signed_in(again) is again
    with pytest.raises(PermissionError, match="wang is a viewer; only a data steward may"):
        auth.require_steward(again)


def test_a_forged_user_cannot_borrow_a_real_token(accounts):
    steward = auth.verify("wang", PASSWORD, path=accounts)
    other = accounts.with_name("other.toml")
    write_accounts(other, [u | {"name": "mallory"} for u in entries(accounts)])
    for forged in (
        dataclasses.replace(steward, name="mallory"),
        dataclasses.replace(steward, _accounts=str(other)),
        dataclasses.replace(steward, _hash_digest=b"\0" * 32),
    ):
        assert not forged.signed_in
        with pytest.raises(PermissionError, match="not a signed-in user"):
            auth.require_steward(forged)
    assert PASSWORD not in repr(steward) and entries(accounts)[0]["hash"] not in repr(steward)


def test_a_new_password_ends_the_sign_ins_made_with_the_old_one(accounts):
    steward = auth.verify("wang", PASSWORD, path=accounts)
    auth.add_user("wang", PASSWORD, role="steward", path=accounts, replace=True)  # new salt
    with pytest.raises(PermissionError, match="the password of 'wang' changed since this sign-in"):
        auth.require_steward(steward)
    assert auth.require_steward(auth.verify("wang", PASSWORD, path=accounts)).name == "wang"


def test_an_unusable_accounts_file_fails_closed_at_the_write(accounts, monkeypatch):
    monkeypatch.setenv("GEOAPP_VIEW_REQUIRES_SIGNIN", "yes")
    steward = auth.verify("wang", PASSWORD, path=accounts)
    assert auth.can_view(steward)
    os.chmod(accounts, 0o666)
    with pytest.raises(PermissionError, match="accounts file cannot be used"):
        auth.require_steward(steward)
    assert not auth.can_view(steward)
    accounts.unlink()
    with pytest.raises(PermissionError, match="'wang' no longer exists"):
        auth.require_steward(steward)


# --- the accounts file is checked when read -------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        (0o666, "writable by others (mode 0666)"),
        (0o602, "writable by others (mode 0602)"),
        (0o620, "writable by its group (mode 0620)"),
    ],
)
def test_an_accounts_file_others_may_write_is_refused(accounts, mode, says):
    os.chmod(accounts, mode)
    expected = f"accounts file {accounts} is {says}: chmod 600 {accounts}"
    for call in (
        lambda: auth.verify("wang", PASSWORD, path=accounts),
        lambda: auth.list_users(path=accounts),
        lambda: auth.add_user("li", "viewer password", role="viewer", path=accounts),
    ):
        with pytest.raises(auth.AccountsError) as caught:
            call()
        assert str(caught.value) == expected
    os.chmod(accounts, 0o640)  # readable by the group is allowed (a warning in the log)
    assert auth.verify("wang", PASSWORD, path=accounts).is_steward


def test_add_user_writes_0600_whatever_the_umask(tmp_path):
    path = tmp_path / "accounts.toml"
    old = os.umask(0)
    try:
        auth.add_user("zhao", PASSWORD, role="viewer", path=path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert auth.verify("zhao", PASSWORD, path=path).role == "viewer"


def test_a_name_given_twice_is_refused(accounts):
    users = entries(accounts)
    auth.add_user("li", "viewer password", role="viewer", path=accounts)
    write_accounts(accounts, [*entries(accounts), users[0] | {"role": "viewer"}])
    with pytest.raises(auth.AccountsError) as caught:
        auth.verify("wang", PASSWORD, path=accounts)
    assert str(caught.value) == (
        f"{accounts}: user 'wang' appears more than once (entries 1 and 3); keep one"
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"role": "admin"},
            "user 'wang' has role 'admin'; expected one of ('viewer', 'steward', 'reviewer')",
        ),
        ({"role": "Steward"}, "user 'wang' has role 'Steward'"),
        ({"hash": "plain text password"}, "user 'wang' has a hash that is not an argon2id hash"),
        ({"hash": "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"}, "not an argon2id hash"),
        ({"name": " wang"}, "user name ' wang' is not usable"),
        ({"admin": True}, "user 'wang' has unknown key(s) admin; expected name, role, area, hash"),
        ({"role": 1}, "user entry 1 lacks role (text expected)"),
    ],
)
def test_a_tampered_or_malformed_entry_is_refused(accounts, change, says):
    write_accounts(accounts, [entries(accounts)[0] | change])
    with pytest.raises(auth.AccountsError) as caught:
        auth.verify("wang", PASSWORD, path=accounts)
    assert str(caught.value).startswith(f"{accounts}: ")
    assert says in str(caught.value)


def test_a_file_that_is_not_a_list_of_users_is_refused(tmp_path):
    path = tmp_path / "accounts.toml"
    path.write_text('user = "wang"\n', encoding="utf-8")
    os.chmod(path, 0o600)
    with pytest.raises(auth.AccountsError, match="'user' must be an array of tables"):
        auth.list_users(path=path)
    path.write_text('[[user]]\nname = "wang"\n[admin]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(auth.AccountsError, match="unknown top-level key.s. admin"):
        auth.list_users(path=path)


def test_the_parsed_file_is_reread_when_it_changes(accounts):
    assert [u.role for u in auth.list_users(path=accounts)] == ["steward"]
    user = entries(accounts)[0]
    write_accounts(accounts, [user | {"role": "viewer"}])
    assert [u.role for u in auth.list_users(path=accounts)] == ["viewer"]
    write_accounts(accounts, [user | {"role": "viewer"}], mode=0o666)  # same bytes, new mode
    with pytest.raises(auth.AccountsError, match="writable by others"):
        auth.list_users(path=accounts)


# --- failed sign-ins: logged and throttled ---------------------------------------------------


def read_log(accounts):
    path = auth.signin_log_path(accounts)
    assert path == accounts.with_name("signin.log")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class CountingHasher:
    def __init__(self):
        self.calls = 0

    def hash(self, password):
        return REAL_HASHER.hash(password)

    def verify(self, stored, password):
        self.calls += 1
        return REAL_HASHER.verify(stored, password)


REAL_HASHER = auth.accounts._hasher


def test_every_attempt_is_logged_with_name_time_and_client_but_no_password(accounts):
    assert auth.verify("wang", "wrong password 1", path=accounts, client="10.0.0.7", now=T0) is None
    assert (
        auth.verify("nobody", "wrong password 2", path=accounts, now=T0 + timedelta(seconds=1))
        is None
    )
    assert auth.verify(
        "wang", PASSWORD, path=accounts, client="10.0.0.7", now=T0 + timedelta(seconds=2)
    ).is_steward
    assert read_log(accounts) == [
        {
            "time": "2025-01-06T09:00:00Z",
            "event": "failure",
            "name": "wang",
            "client": "10.0.0.7",
            "reason": "wrong password",
        },
        {
            "time": "2025-01-06T09:00:01Z",
            "event": "failure",
            "name": "nobody",
            "client": None,
            "reason": "unknown name",
        },
        {"time": "2025-01-06T09:00:02Z", "event": "success", "name": "wang", "client": "10.0.0.7"},
    ]
    text = auth.signin_log_path(accounts).read_text(encoding="utf-8")
    assert "wrong password 1" not in text and PASSWORD not in text and "$argon2" not in text
    assert stat.S_IMODE(os.stat(auth.signin_log_path(accounts)).st_mode) == 0o600
    state = accounts.with_name("signin.throttle.json")
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600


def test_five_failures_throttle_the_name_even_with_the_right_password(accounts, monkeypatch):
    for i in range(5):
        assert (
            auth.verify(
                "wang",
                f"guess {i}",
                path=accounts,
                client=f"10.0.0.{i}",
                now=T0 + timedelta(minutes=i),
            )
            is None
        )
    counting = CountingHasher()
    monkeypatch.setattr(auth.accounts, "_hasher", counting)
    with pytest.raises(auth.SignInThrottled) as caught:
        auth.verify(
            "wang", PASSWORD, path=accounts, client="10.9.9.9", now=T0 + timedelta(minutes=5)
        )
    assert counting.calls == 0  # refused before the password was looked at
    throttled = caught.value
    assert isinstance(throttled, auth.AccountsError)  # so the CLI reports it cleanly
    # The 5th failure at 09:04 starts 15 minutes of back-off.
    assert throttled.until == datetime(2025, 1, 6, 9, 19, tzinfo=UTC)
    assert (throttled.name, throttled.minutes) == ("wang", 14)
    assert str(throttled) == (
        "too many failed sign-ins for user 'wang'; try again after "
        "2025-01-06 09:19:00 UTC (in 14 min)"
    )
    assert read_log(accounts)[-1] == {
        "time": "2025-01-06T09:05:00Z",
        "event": "throttled",
        "name": "wang",
        "client": "10.9.9.9",
        "by": "name",
        "until": "2025-01-06T09:19:00+00:00",
    }
    # Another name is not affected; after the back-off the right password works again.
    auth.add_user("li", "viewer password", role="viewer", path=accounts)
    assert auth.verify("li", "viewer password", path=accounts, now=T0 + timedelta(minutes=6))
    with pytest.raises(auth.SignInThrottled):
        auth.verify("wang", PASSWORD, path=accounts, now=T0 + timedelta(minutes=18, seconds=59))
    user = auth.verify("wang", PASSWORD, path=accounts, now=T0 + timedelta(minutes=19))
    assert user.is_steward and counting.calls == 2


def test_a_success_clears_the_names_failures(accounts):
    def attempt(minute, password):
        return auth.verify("wang", password, path=accounts, now=T0 + timedelta(minutes=minute))

    for minute in range(4):
        assert attempt(minute, "wrong password") is None
    assert attempt(4, PASSWORD).is_steward
    for minute in range(5, 9):
        assert attempt(minute, "wrong password") is None
    assert attempt(9, PASSWORD).is_steward  # 4 + 4 failures, never 5 in a row
    # Failures older than the 15-minute window no longer count either.
    for minute in (10, 11, 12, 13, 26):
        assert attempt(minute, "wrong password") is None
    assert attempt(27, PASSWORD).is_steward


def test_one_client_trying_many_names_is_throttled(accounts, monkeypatch):
    monkeypatch.setattr(auth.signin, "MAX_CLIENT_FAILURES", 3)
    for i, name in enumerate(["a", "b", "c"]):
        auth.verify(name, "x", path=accounts, client="203.0.113.5", now=T0 + timedelta(seconds=i))
    with pytest.raises(
        auth.SignInThrottled,
        match="for client 203.0.113.5; try again after 2025-01-06 09:15:02 UTC",
    ):
        auth.verify(
            "wang", PASSWORD, path=accounts, client="203.0.113.5", now=T0 + timedelta(minutes=1)
        )
    # The same account from elsewhere, and the CLI (no client address), still sign in.
    assert auth.verify("wang", PASSWORD, path=accounts, client="198.51.100.1", now=T0).is_steward
    assert auth.verify("wang", PASSWORD, path=accounts, now=T0).is_steward


def test_the_throttle_holds_across_processes(accounts):
    for i in range(5):
        auth.verify("wang", "wrong password", path=accounts, now=T0 + timedelta(seconds=i))
    script = (
        "import sys; from datetime import datetime; from geoapp import auth\n"
        "try:\n"
        "    auth.verify('wang', sys.argv[2], path=sys.argv[1],"
        " now=datetime.fromisoformat(sys.argv[3]))\n"
        "except auth.SignInThrottled as exc:\n"
        "    print(exc.until.isoformat())\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(accounts),
            PASSWORD,
            (T0 + timedelta(minutes=1)).isoformat(),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "2025-01-06T09:15:04+00:00"


def test_parallel_attempts_cannot_slip_past_the_limit(accounts):
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(
            pool.map(lambda i: _attempt_or_throttled("wang", f"guess {i}", accounts), range(8))
        )
    assert sorted(outcomes) == ["failed"] * 5 + ["throttled"] * 3
    events = [r["event"] for r in read_log(accounts)]
    assert events.count("failure") == 5 and events.count("throttled") == 3


def _attempt_or_throttled(name, password, accounts):
    try:
        return "signed in" if auth.verify(name, password, path=accounts, now=T0) else "failed"
    except auth.SignInThrottled:
        return "throttled"


def test_a_sign_in_log_others_may_write_is_refused(accounts):
    auth.verify("wang", "wrong password", path=accounts, now=T0)
    os.chmod(auth.signin_log_path(accounts), 0o666)
    with pytest.raises(auth.AccountsError, match=r"sign-in log .*signin.log is writable by others"):
        auth.verify("wang", PASSWORD, path=accounts, now=T0)


def test_a_damaged_throttle_file_starts_afresh(accounts):
    state = accounts.with_name("signin.throttle.json")
    for _i in range(5):
        auth.verify("wang", "wrong password", path=accounts, now=T0)
    state.write_text("{not json", encoding="utf-8")
    assert auth.verify("wang", PASSWORD, path=accounts, now=T0).is_steward
    assert json.loads(state.read_text(encoding="utf-8")) == {"client": {}, "name": {}}


def test_a_naive_clock_is_refused(accounts):
    with pytest.raises(ValueError, match="no time zone"):
        auth.verify("wang", PASSWORD, path=accounts, now=datetime(2025, 1, 6, 9, 0))


# --- the command line: clean errors ------------------------------------------------------------


def test_cli_user_add_reports_an_unusable_accounts_file_cleanly(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.toml"
    auth.add_user("zhao", PASSWORD, role="viewer", path=path)
    os.chmod(path, 0o666)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        cli.main(
            [
                *["user", "add", "qian", "--role", "viewer", "--password-stdin", "--lang", "en"],
                "--accounts",
                str(path),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err == (
        f"geoapp: error: accounts file {path} is writable by others (mode 0666): chmod 600 {path}\n"
    )
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        cli.main(
            [
                "user",
                "add",
                "--lang",
                "en",
                "qian",
                "--role",
                "viewer",
                "--password-stdin",
                "--accounts",
                str(blocker / "a.toml"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("geoapp: error: ") and "cannot write the accounts file" in err
    assert "Traceback" not in err


def test_cli_sign_in_reports_the_throttle_cleanly(accounts, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(auth.signin, "_now", lambda: T0)
    for _i in range(5):
        auth.verify("wang", "wrong password", path=accounts)
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(accounts))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        cli.main(
            [
                "store",
                "audit",
                "--lang",
                "en",
                "--user",
                "wang",
                "--password-stdin",
                "--store",
                str(tmp_path / "s.gpkg"),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err == (
        "geoapp: error: too many failed sign-ins for user 'wang'; "
        "try again after 2025-01-06 09:15:00 UTC (in 15 min)\n"
    )


# --- the pages: the sign-in form and a revoked sign-in (AppTest) ---------------------------------

UPLOADS = ROOT / "tests" / "fixtures" / "uploads"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def page_accounts(tmp_path, monkeypatch):
    """A fresh store and accounts file for the pages (settings read the environment)."""
    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "geoapp.gpkg"))
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(tmp_path / "accounts.toml"))
    _clear_page_caches()
    auth.add_user("wang", PASSWORD, role="steward")
    auth.add_user("li", PASSWORD, role="viewer")
    yield tmp_path / "accounts.toml"
    _clear_page_caches()


def _clear_page_caches():
    import streamlit as st

    from pages import cache

    cache._source.clear()  # the StoreSource holds the store path it opened first
    st.cache_data.clear()


def open_page(page="data", **params):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    return at.run()


def sign_in(at, name="wang", password=PASSWORD):
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    return at.button(key="signin_submit").click().run()


def test_a_steward_deleted_while_signed_in_cannot_accept_an_upload(page_accounts):
    from geoapp import datasource
    from pages import signin

    at = sign_in(open_page())
    assert not at.exception
    at.file_uploader[0].set_value(
        ("good.xlsx", (UPLOADS / "facilities_good.xlsx").read_bytes(), XLSX)
    )
    at.run()
    assert at.button(key="data_accept")  # previewed, ready to write
    write_accounts(page_accounts, [u for u in entries(page_accounts) if u["name"] != "wang"])
    at.button(key="data_accept").click().run()
    assert not at.exception
    assert datasource.default_source().store.current_version("facilities") == 1
    assert signin.USER_KEY not in at.session_state
    assert not at.file_uploader and not at.tabs
    assert [w.value for w in at.sidebar.warning] == [
        "你登录后，账户已被删除或更改了角色或密码，已退出登录。请重新登录。"
    ]
    at = sign_in(at)  # the deleted account cannot sign in again
    assert any("用户名或密码不正确" in e.value for e in at.error)


def test_the_sign_in_form_says_when_to_try_again(page_accounts, monkeypatch):
    from pages import signin

    monkeypatch.setattr(auth.signin, "_now", lambda: T0 + timedelta(seconds=30))
    at = open_page(lang="en")
    for i in range(5):
        at = sign_in(at, "wang", f"wrong password {i}")
        assert [e.value for e in at.error] == ["Unknown user name or wrong password."]
    at = sign_in(at, "wang", PASSWORD)
    assert [e.value for e in at.error] == [
        "Too many failed sign-ins; signing in is paused. Try again in 15 minutes (after 09:15 UTC)."
    ]
    assert signin.USER_KEY not in at.session_state and not at.file_uploader
    zh = sign_in(open_page(), "wang", PASSWORD)  # another session: the state is in the file
    assert [e.value for e in zh.error] == [
        "登录失败次数过多，已暂停登录。请在 15 分钟后（UTC 09:15 之后）再试。"
    ]
    monkeypatch.setattr(auth.signin, "_now", lambda: T0 + timedelta(minutes=15, seconds=30))
    at = sign_in(at, "wang", PASSWORD)
    assert not at.error and at.file_uploader
    events = [(r["event"], r["name"], r["client"]) for r in read_log(page_accounts)]
    assert events == [("failure", "wang", None)] * 5 + [("throttled", "wang", None)] * 2 + [
        ("success", "wang", None)
    ]
