"""The store's, the areas', the edits' and the accounts' refusals in the reader's language.

Every refusal keeps its English message (logs, tests, ``--lang en``) and carries an i18n
key with its parameters (:mod:`geoapp.localised`); :func:`geoapp.ingest.problem_text`
renders it. Each case below is one raise site, with the exact Chinese and English a
person reads; the words inside (roles, datasets, what was tried) are Chinese too.
"""

from __future__ import annotations

import io
import re
import sqlite3
import string
from pathlib import Path

import pandas as pd
import pytest
from store_rows import counts_of

from geoapp import auth, cli, i18n
from geoapp.ingest import problem_text
from geoapp.localised import AccessDenied, Localised, action_word
from geoapp.paths import ROOT
from geoapp.store import Store, StoreError
from geoapp.store.areas import AreaError, AreaTree, Period
from geoapp.store.edits import Edit, EditError, apply_edit
from geoapp.store.errors import sqlite_failure

PASSWORD = "message password 12"
JILIN, BAISHAN, CHANGBAI, HUNJIANG, NANGUAN = "220000", "220600", "220623", "220602", "220102"
ACCOUNTS = {
    "prov": ("steward", ""),
    "cb": ("steward", CHANGBAI),
    "prov_rev": ("reviewer", JILIN),
    "bs_rev": ("reviewer", BAISHAN),
    "li": ("viewer", ""),
}


# The ``accounts`` and ``users`` fixtures (conftest.py) sign these in.


@pytest.fixture
def store(jilin_store_at):
    opened = Store.open(jilin_store_at("gpkg"))
    yield opened
    opened.close()


def submitted(store: Store, users, area: str) -> int:
    """A pending submission of ``area`` by the region's steward: its number."""
    sub = store.submit(
        "unemployed", counts_of(store, area, plus=1), user=users["prov"], area=area,
        period="2026Q1",
    )  # fmt: skip
    return sub.submission_id


def toy_tree() -> AreaTree:
    units = pd.DataFrame({
        "adcode": ["990101", "990102", "990201"], "name": ["A1", "A2", "B1"],
        "prefecture_adcode": ["990100", "990100", "990200"], "prefecture": ["A", "A", "B"],
    })  # fmt: skip
    return AreaTree("990000", "Toy", units)


# --- one raise site a case: (what is done, the error, Chinese, English) ----------------------


def _viewer_uploads(store, users):
    store.upload(b"x", file_name="a.csv", dataset="facilities", as_of="2026-03-31",
                 user=users["li"], counties=None)  # fmt: skip


def _nobody_uploads(store, users):
    auth.require_steward(None, action="upload a register")


def _county_steward_submits_for_another_county(store, users):
    store.submit("unemployed", counts_of(store, HUNJIANG), user=users["cb"], area=HUNJIANG,
                 period="2026Q1")  # fmt: skip


def _reviewer_of_the_wrong_prefecture(store, users):
    sid = submitted(store, users, NANGUAN)
    store.review(sid, user=users["bs_rev"], approve=True)


def _a_steward_reviews(store, users):
    sid = submitted(store, users, CHANGBAI)
    store.review(sid, user=users["cb"], approve=False, reason="不对")


def _rollback_by_a_county_steward(store, users):
    store.rollback("unemployed", 1, user=users["cb"])


def _rollback_to_the_current_version(store, users):
    store.rollback("facilities", 1, user=users["prov"])


def _unknown_version(store, users):
    store.rollback("facilities", 99, user=users["prov"])


def _review_twice(store, users):
    sid = submitted(store, users, CHANGBAI)
    store.review(sid, user=users["bs_rev"], approve=True)
    store.review(sid, user=users["bs_rev"], approve=True)


def _return_without_a_reason(store, users):
    store.review(1, user=users["bs_rev"], approve=False)


def _unknown_submission(store, users):
    store.review(7, user=users["bs_rev"], approve=True)


def _edit_of_a_missing_facility(store, users):
    apply_edit(store, Edit("rename", facility_id="NOPE", name="x"), user=users["cb"],
               period="2026Q1", counties=None)  # fmt: skip


def _edit_of_an_unknown_kind(store, users):
    apply_edit(store, Edit("merge", facility_id="NOPE"), user=users["cb"], period="2026Q1",
               counties=None)  # fmt: skip


def _unknown_area(store, users):
    toy_tree().check("990301")


def _not_a_quarter(store, users):
    Period.parse("2026Q7")


CASES = [
    (
        _viewer_uploads, AccessDenied,
        "li 是查看者；只有数据管理员才能上传设施登记表",
        "li is a viewer; only a data steward may upload a facilities register",
    ),
    (
        _nobody_uploads, AccessDenied,
        "请以数据管理员身份登录，才能上传登记表",
        "sign in as a data steward to upload a register",
    ),
    (
        _county_steward_submits_for_another_county, AccessDenied,
        "cb 是 长白朝鲜族自治县（220623）的数据管理员，不能为 浑江区（220602）报送",
        "cb is a steward of 220623 长白朝鲜族自治县; they may not submit for 220602 浑江区",
    ),
    (
        _reviewer_of_the_wrong_prefecture, AccessDenied,
        "bs_rev 负责审核 白山市（220600）；南关区（220102）的报送由 长春市（220100）审核",
        "bs_rev reviews for 220600 白山市; a submission for 220102 南关区 is reviewed by "
        "220100 长春市",
    ),
    (
        _a_steward_reviews, AccessDenied,
        "cb 是数据管理员；只有审核员才能退回报送",
        "cb is a steward; only a reviewer may return submissions",
    ),
    (
        _rollback_by_a_county_steward, AccessDenied,
        "cb 是 220623 的数据管理员；只有整个地区（220000）的数据管理员才能回滚未就业残疾人数",
        "cb is a steward of 220623; only a steward of the whole region 220000 may roll back "
        "the unemployed",
    ),
    (
        _rollback_to_the_current_version, StoreError,
        "设施登记表第 1 版已经是当前版本，无需回滚",
        "facilities version 1 is the current version already; nothing to roll back",
    ),
    (
        _unknown_version, StoreError,
        "没有设施登记表第 99 版；现有版本：1",
        "no facilities version 99 in {store}; versions: [1]",
    ),
    (
        _review_twice, StoreError,
        "第 1 号报送已通过，不是待审核状态，无需审核",
        "submission 1 is approved, not pending; nothing to review",
    ),
    (
        _return_without_a_reason, StoreError,
        "退回报送需要填写原因，让报送人知道如何修改",
        "a returned submission needs a reason the submitter can act on",
    ),
    (
        _unknown_submission, StoreError,
        "没有第 7 号报送",
        "no submission 7 in {store}",
    ),
    (
        _edit_of_a_missing_facility, EditError,
        "当前没有编号为“NOPE”的设施；请在登记表中查看设施编号",
        "no current facility 'NOPE'; see the register for its id (编号)",
    ),
    (
        _edit_of_an_unknown_kind, EditError,
        "无法识别的修改“merge”；可选：新增、关闭、迁移、更名",
        "edit 'merge'; expected one of add, close, move, rename",
    ),
    (
        _unknown_area, AreaError,
        "区域 990301 不在 Toy（990000）内；请填写整个地区（990000）、某个市（州）"
        "（990100 A、990200 B）或某个县级单位的行政区划代码",
        "area '990301' is not in region 990000 Toy; give the region (990000), a prefecture "
        "(990100 A, 990200 B) or a county-level unit's adcode",
    ),
    (
        _not_a_quarter, AreaError,
        "报送期“2026Q7”不是季度；请写成 2026Q1（年份、Q、季度 1-4）",
        "period '2026Q7' is not a quarter; write it as 2026Q1 (year, Q, 1-4)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("act", "kind", "zh", "en"), CASES, ids=[c[0].__name__.strip("_") for c in CASES]
)
def test_a_refusal_reads_in_chinese_and_in_english(store, users, act, kind, zh, en):
    with pytest.raises(kind) as caught:
        act(store, users)
    exc = caught.value
    assert exc.key  # every raise site names its i18n entry
    assert problem_text(exc, "zh") == zh
    assert problem_text(exc, "zh") == problem_text(exc)  # Chinese first
    assert problem_text(exc, "en") == str(exc) == en.format(store=store._backend.name)


def test_a_refused_access_is_still_a_permission_error(users):
    with pytest.raises(PermissionError, match="^sign in to view the data$"):
        auth.require_signed_in(None)
    assert problem_text(AccessDenied("x", key="problem.access.sign_in",
                                     action=action_word("view the data"))) == "请先登录，才能查看数据"  # fmt: skip


def test_an_account_changed_since_sign_in_is_told_in_chinese(accounts, users):
    auth.add_user("li", PASSWORD, role="reviewer", area=BAISHAN, path=accounts, replace=True)
    try:
        with pytest.raises(PermissionError) as caught:
            auth.require_signed_in(users["li"])
    finally:
        auth.add_user("li", PASSWORD, role="viewer", path=accounts, replace=True)
    assert problem_text(caught.value, "zh") == (
        "账户 li 现在是审核员，不是登录时的查看者；请重新登录后再查看数据"
    )
    assert str(caught.value) == (
        "the account 'li' is now a reviewer, not the viewer it signed in as; sign in again "
        "to view the data"
    )


def test_a_failure_of_the_store_file_keeps_its_path_out_of_the_chinese():
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorname = "SQLITE_FULL"
    exc = sqlite_failure(Path("/srv/geoapp/var/store.gpkg"), error, "write a version", write=True)
    assert problem_text(exc, "zh") == (
        "数据存储出错，操作未完成。磁盘已满，请释放空间后重试。未写入任何内容，原有数据不变。"
    )
    assert str(exc) == (
        "/srv/geoapp/var/store.gpkg: cannot write a version: database or disk is full; the "
        "disk is full; free some space and try again; nothing was written; the previous "
        "data are unchanged"
    )


def test_a_page_in_english_keeps_the_store_path_out_too():
    """The command line (an administrator's own terminal) reads every detail in English;
    a page (``detail=False``) reads the table's words, never the file or the database."""
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorname = "SQLITE_FULL"
    exc = sqlite_failure(Path("/srv/geoapp/var/store.gpkg"), error, "write a version", write=True)
    assert problem_text(exc, "en", detail=False) == (
        "The store could not do this. The disk is full; free some space and try again. "
        "Nothing was written; the previous data are unchanged."
    )
    assert problem_text(exc, "en").startswith("/srv/geoapp/var/store.gpkg: ")
    refused = AccessDenied("sign in to submit data", key="problem.access.sign_in",
                           action=action_word("submit data"))  # fmt: skip
    assert problem_text(refused, "en", detail=False) == problem_text(refused, "en")


def test_an_error_without_a_key_gets_a_chinese_lead_in():
    assert problem_text(StoreError("odd"), "zh") == "操作未完成：odd"
    assert problem_text(PermissionError("no"), "zh") == "操作未完成：no"
    assert problem_text(FileNotFoundError("gone"), "zh") == "文件无法使用：gone"


def test_a_phrase_the_table_does_not_know_reads_in_english_rather_than_failing():
    exc = AccessDenied("sign in to juggle", key="problem.access.sign_in",
                       action=action_word("juggle"))  # fmt: skip
    assert problem_text(exc, "zh") == "请先登录，才能juggle"


# --- the i18n table holds every key the errors use, alike in both languages -------------------


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _keys_in_source() -> set[str]:
    """Every ``problem.`` / ``doing.`` key written in the core's source."""
    found: set[str] = set()
    for path in (ROOT / "geoapp").rglob("*.py"):
        found |= set(re.findall(r"\"((?:problem|doing)\.[a-z_.]+[a-z_])\"", path.read_text()))
    return found


#: Keys made at run time: the SQLite and server hints, and what a user may try to do
#: (every ``action=`` of the store and the accounts, for each dataset).
_BUILT = {
    *(f"problem.store.hint.{h}" for h in ("full", "readonly", "busy", "locked", "notadb",
                                          "corrupt", "cantopen", "ioerr", "server", "other")),
    *(f"problem.accounts.entry.{e}" for e in ("not_table", "lacks", "unknown", "role", "hash",
                                               "created_at", "area", "name")),
    "problem.word.others", "problem.word.its_group",
    *(action_word(a).key for a in (
        "view the data", "change the data", "upload a register", "submit data",
        "approve submissions", "return submissions", "see submitted rows",
        "read the audit log", "upload a facilities register", "upload a unemployed register",
        "upload facilities and unemployed registers", "add a facilities version",
        "add a unemployed version", "roll back the facilities", "roll back the unemployed",
    )),
}  # fmt: skip


def test_every_key_the_errors_use_is_in_both_languages_with_the_same_placeholders():
    table = i18n.load_table()
    used = _keys_in_source() | _BUILT
    assert len(used) > 60  # the scan sees the raise sites
    assert "problem.store.no_version" in used and "problem.access.role" in used
    missing = {lang: sorted(used - set(table[lang])) for lang in ("zh", "en")}
    assert missing == {"zh": [], "en": []}
    differ = [k for k in used if _placeholders(table["zh"][k]) != _placeholders(table["en"][k])]
    assert differ == []


def test_every_localised_error_class_is_one():
    assert all(issubclass(c, Localised) for c in (StoreError, AreaError, EditError, AccessDenied))
    assert issubclass(AccessDenied, PermissionError)


# --- the command line: exit 2 with the message in --lang -------------------------------------


@pytest.fixture
def run(accounts, jilin_store_at, monkeypatch, capsys):
    """``geoapp store ...`` on a copy of the Jilin store as ``who``: (code, out, err)."""
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(accounts))
    path = jilin_store_at("gpkg")

    def run(*argv: str, who: str):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        code = cli.main(["store", *argv, "--user", who, "--password-stdin", "--store", str(path)])
        out = capsys.readouterr()
        return code, out.out, out.err

    run.path = path
    return run


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        ("zh", "cb 是 长白朝鲜族自治县（220623）的数据管理员，不能为 浑江区（220602）报送"),
        ("en", "cb is a steward of 220623 长白朝鲜族自治县; they may not submit for 220602 浑江区"),
    ],
)
def test_submit_refuses_in_the_language_asked(run, tmp_path, lang, says):
    register = tmp_path / "r.csv"
    register.write_text("机构名称,机构类别,经度,纬度\n甲,美丽工坊,128.2,41.42\n", encoding="utf-8")
    code, out, err = run(
        "submit", "--facilities", str(register), "--period", "2026Q1", "--area", HUNJIANG,
        "--lang", lang, who="cb",
    )  # fmt: skip
    assert (code, out, err) == (2, "", f"geoapp: error: {says}\n")


def test_review_refuses_in_chinese(run, users):
    store = Store.open(run.path)
    sid = submitted(store, users, NANGUAN)
    store.close()
    code, out, err = run("review", "approve", str(sid), "--lang", "zh", who="bs_rev")
    assert (code, out) == (2, "")
    assert err == (
        "geoapp: error: bs_rev 负责审核 白山市（220600）；南关区（220102）的报送由 "
        "长春市（220100）审核\n"
    )
    code, _, err = run("review", "approve", "9", "--lang", "zh", who="bs_rev")
    assert (code, err) == (2, "geoapp: error: 没有第 9 号报送\n")


# --- a page: the reviewer's refusal on the data page, in Chinese -----------------------------


@pytest.fixture
def page_store(tmp_path, monkeypatch):
    """A fresh store and accounts file for the pages (settings read the environment)."""
    import streamlit as st

    from pages import cache

    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "geoapp.gpkg"))
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(tmp_path / "accounts.toml"))
    cache._source.clear()
    st.cache_data.clear()
    auth.add_user("cb", PASSWORD, role="steward", area=CHANGBAI)
    auth.add_user("bs_rev", PASSWORD, role="reviewer", area=BAISHAN)
    yield tmp_path
    cache._source.clear()
    st.cache_data.clear()


def test_the_data_page_shows_a_refused_review_in_chinese(page_store):
    from streamlit.testing.v1 import AppTest

    from geoapp import datasource

    store = datasource.default_source().store
    counts = store.unemployed()
    store.submit("unemployed", counts[counts["adcode"] == CHANGBAI],
                 user=auth.verify("cb", PASSWORD), period="2026Q1")  # fmt: skip
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240)
    at.switch_page("pages/data.py")
    at.run()
    at.text_input(key="signin_name").input("bs_rev")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button(key="signin_submit").click().run()
    at.button(key="data_review_return").click().run()  # no reason given
    assert not at.exception
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]
    assert errors == ["退回报送需要填写原因，让报送人知道如何修改"]
