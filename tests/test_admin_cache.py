"""Tests for geoapp.admin.cache: the prepared registry index kept between processes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geoapp.admin import AdminRegistry, cache
from geoapp.admin.history import CodeHistory
from geoapp.admin.index import AdminIndex, build_index
from geoapp.admin.tables import (
    load_aliases,
    load_code_changes,
    load_development_zones,
    load_divisions,
)
from geoapp.paths import ROOT, reference_path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own."""
    path = tmp_path / "cache"
    monkeypatch.setenv("GEOAPP_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="module")
def fresh() -> AdminIndex:
    """The index built from the reference tables, as before there was a cache."""
    return build_index(
        load_divisions(),
        aliases=load_aliases(),
        changes=load_code_changes(),
        zones=load_development_zones(),
        history=CodeHistory.default(),
    )


def assert_same_index(got: AdminIndex, want: AdminIndex) -> None:
    assert got.units == want.units
    assert got.hits == want.hits
    assert got.zones_by_code == want.zones_by_code
    assert got.unplaced == want.unplaced


def forbid_building(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        pytest.fail("the index was built again instead of read from the cache")

    monkeypatch.setattr(cache, "build_index", fail)


def test_the_cached_index_is_the_built_one(
    folder: Path, fresh: AdminIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cache.default_index()  # built, then written
    assert (folder / "admin_index.pickle").is_file()
    forbid_building(monkeypatch)
    second = cache.default_index()  # read back
    assert_same_index(first, fresh)
    assert_same_index(second, fresh)
    # the answers through the registry are the same too
    reg = AdminRegistry.default()
    assert reg.resolve("长白县").adcode == "220623"
    assert reg.resolve("220381").adcode == "220184"  # 公主岭市, moved to 长春市 in 2020
    assert reg.spellings(["220721"])["前郭县"] == {"220721"}


@pytest.mark.parametrize(
    "content",
    [b"", b"not a cache", b"geoapp-admin-index\n" + b"0" * 64 + b"\n" + b"\x80\x05junk"],
)
def test_a_corrupt_or_stale_file_is_rebuilt_silently(
    folder: Path, fresh: AdminIndex, content: bytes
) -> None:
    folder.mkdir()
    (folder / "admin_index.pickle").write_bytes(content)
    assert_same_index(cache.default_index(), fresh)
    written = (folder / "admin_index.pickle").read_bytes()
    assert written.startswith(b"geoapp-admin-index\n" + cache.source_key().encode())


def test_a_cache_folder_that_cannot_be_made_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: AdminIndex
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("in the way")
    monkeypatch.setenv("GEOAPP_CACHE_DIR", str(blocker / "cache"))
    assert_same_index(cache.default_index(), fresh)


def test_the_key_follows_the_tables(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = cache.source_key()
    copy = tmp_path / "admin_aliases.csv"
    shutil.copy(reference_path("admin_aliases.csv"), copy)
    with copy.open("a", encoding="utf-8") as f:
        f.write("\n")
    monkeypatch.setattr(
        cache, "reference_path", lambda name: copy if name == copy.name else reference_path(name)
    )
    assert cache.source_key() != before


def test_the_folder_is_the_users_never_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEOAPP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "geoapp"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == Path.home() / ".cache" / "geoapp"
    assert ROOT not in cache.cache_dir().parents


@pytest.mark.skipif(not hasattr(__import__("os"), "getuid"), reason="POSIX file modes")
def test_a_file_others_could_have_written_is_not_loaded(
    folder: Path, fresh: AdminIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pickle runs code when loaded: one writable by the group or by anyone is rebuilt."""
    cache.default_index()  # writes the file
    path = folder / "admin_index.pickle"
    path.chmod(0o666)
    loaded = []
    monkeypatch.setattr(cache, "_unpickle", lambda data: loaded.append(1))
    assert_same_index(cache.default_index(), fresh)
    assert loaded == []  # rebuilt, never unpickled
    assert path.stat().st_mode & 0o022 == 0  # and written back as the user's own
