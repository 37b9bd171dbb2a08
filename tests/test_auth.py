"""Accounts, sign-in and settings: hashed passwords, roles, nothing tracked by git."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
import tomllib

import pytest

from geoapp import auth, cli, settings
from geoapp.paths import ROOT

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
    real = auth._hasher

    class Counting:
        def hash(self, password):
            return real.hash(password)

        def verify(self, stored, password):
            calls.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(auth, "_hasher", Counting())
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
    assert settings.STORE_PATH == tmp_path / "x.gpkg"
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
    tracked = subprocess.run([git, "ls-files", "var"], cwd=ROOT, capture_output=True, text=True,
                             check=True)  # fmt: skip
    assert tracked.stdout == ""


# --- the command line ----------------------------------------------------------------------


def test_cli_user_add_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "add", "zhao", "--role", "steward", "--password-stdin",
                     "--accounts", str(path)]) == 0  # fmt: skip
    assert "steward zhao" in capsys.readouterr().out
    assert auth.verify("zhao", PASSWORD, path=path).is_steward
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "add", "zhao", "--role", "viewer", "--password-stdin",
                     "--accounts", str(path)]) == 2  # fmt: skip
    assert "exists already" in capsys.readouterr().err


def test_cli_user_add_prompts_twice_and_refuses_a_mismatch(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.toml"
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main(["user", "add", "qian", "--role", "viewer", "--accounts", str(path)]) == 2
    assert "differ" in capsys.readouterr().err
    assert not path.exists()
    answers = iter([PASSWORD, PASSWORD])
    assert cli.main(["user", "add", "qian", "--role", "viewer", "--accounts", str(path)]) == 0
    assert auth.verify("qian", PASSWORD, path=path).role == "viewer"
