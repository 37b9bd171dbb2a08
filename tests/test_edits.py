"""Single-facility edits: add, close, move, rename, each a submission of its county."""

from __future__ import annotations

import shutil

import pytest

from geoapp import auth
from geoapp.datasource import EmbeddedSource
from geoapp.store import Store
from geoapp.store.edits import Edit, EditError, apply_edit

PASSWORD = "edit password 12"
CHANGBAI, HUNJIANG = "220623", "220602"
IN_CHANGBAI, IN_HUNJIANG = (128.2, 41.42), (126.42, 41.94)


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    path = tmp_path_factory.mktemp("acc") / "accounts.toml"
    auth.add_user("cb", PASSWORD, role="steward", area=CHANGBAI, path=path)
    auth.add_user("bs", PASSWORD, role="steward", area="220600", path=path)
    auth.add_user("bs_rev", PASSWORD, role="reviewer", area="220600", path=path)
    return {n: auth.verify(n, PASSWORD, path=path) for n in ("cb", "bs", "bs_rev")}


@pytest.fixture(scope="module")
def counties():
    return EmbeddedSource().counties()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "store.gpkg"
    Store.open(path, seed=EmbeddedSource())
    return path


@pytest.fixture
def store(template, tmp_path):
    shutil.copy(template, tmp_path / "s.gpkg")
    return Store.open(tmp_path / "s.gpkg")


def in_unit(store, adcode):
    current = store.facilities()
    return current[current["adcode"] == adcode]


def test_an_added_facility_waits_for_review_then_lands_in_its_county(store, users, counties):
    edit = Edit("add", name="长白县阳光工坊", facility_type="beautiful_workshop",
                lon=IN_CHANGBAI[0], lat=IN_CHANGBAI[1])  # fmt: skip
    sub = apply_edit(store, edit, user=users["cb"], period="2026Q1", counties=counties)
    assert (sub.area, sub.status, sub.rows, len(sub.closes)) == (CHANGBAI, "pending", 3, 0)
    assert len(store.facilities()) == 478
    store.review(sub.submission_id, user=users["bs_rev"], approve=True)
    added = in_unit(store, CHANGBAI).set_index("name").loc["长白县阳光工坊"]
    assert (added["county"], added["prefecture"]) == ("长白朝鲜族自治县", "白山市")
    assert added["facility_id"].startswith("F") and len(store.facilities()) == 479
    with pytest.raises(EditError, match="is in the register already"):
        apply_edit(store, edit, user=users["cb"], period="2026Q1", counties=counties)


def test_close_rename_and_move_keep_the_facility_id(store, users, counties, review_off):
    first, second = in_unit(store, CHANGBAI)["facility_id"].tolist()
    with pytest.raises(EditError, match="needs the date it closed and a reason"):
        apply_edit(store, Edit("close", facility_id=first), user=users["cb"], period="2026Q1",
                   counties=counties)  # fmt: skip
    close = Edit("close", facility_id=first, closed_on="2026-02-01", reason="场地到期")
    apply_edit(store, close, user=users["cb"], period="2026Q1", counties=counties)
    assert in_unit(store, CHANGBAI)["facility_id"].tolist() == [second]
    assert "reason=场地到期" in store.audit(user=users["cb"])["note"].iloc[-1]

    apply_edit(store, Edit("rename", facility_id=second, name="长白新名称"), user=users["cb"],
               period="2026Q1", counties=counties)  # fmt: skip
    assert in_unit(store, CHANGBAI).set_index("facility_id").loc[second, "name"] == "长白新名称"

    move = Edit("move", facility_id=second, lon=IN_HUNJIANG[0], lat=IN_HUNJIANG[1])
    with pytest.raises(PermissionError, match="may not submit for 220600"):
        apply_edit(store, move, user=users["cb"], period="2026Q1", counties=counties)
    before = len(store.facilities())
    sub = apply_edit(store, move, user=users["bs"], period="2026Q1", counties=counties)
    assert (sub.area, len(sub.closes)) == ("220600", 0)  # across a border: the prefecture
    moved = store.facilities().set_index("facility_id").loc[second]
    assert (moved["adcode"], moved["county"], moved["lon"]) == (HUNJIANG, "浑江区", 126.42)
    assert len(store.facilities()) == before and in_unit(store, CHANGBAI).empty


def test_an_unknown_facility_or_a_point_outside_the_region_is_refused(store, users, counties):
    with pytest.raises(EditError, match="no current facility 'X-1'"):
        apply_edit(store, Edit("rename", facility_id="X-1", name="a"), user=users["cb"],
                   period="2026Q1", counties=counties)  # fmt: skip
    with pytest.raises(EditError, match="outside every county-level unit"):
        apply_edit(store, Edit("add", name="b", facility_type="beautiful_workshop", lon=116.4,
                               lat=39.9), user=users["cb"], period="2026Q1", counties=counties)  # fmt: skip
