"""``geoapp user add`` and ``geoapp store info|versions|audit|rollback|import`` speak the
language of ``--lang``: Chinese by default, English when asked, one language per screen."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest

from geoapp import auth, cli

pytestmark = pytest.mark.usefixtures("review_off")

PASSWORD = "steward password 1"
ACCOUNTS = {"steward1": ("steward", ""), "viewer1": ("viewer", ""), "locked1": ("viewer", "")}
AS_OF = "2025-12-31"
#: One good row, one whose longitude is not a number (row 3 of the sheet).
REGISTER = (
    "机构名称,机构类别,经度,纬度\n长白测试工坊,美丽工坊,128.2,41.42\n坏行,美丽工坊,abc,41.42\n"
)
NO_VALID_ROW = "机构名称,机构类别,经度,纬度\n坏行,美丽工坊,abc,41.42\n"
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture
def run(accounts, monkeypatch, capsys, tmp_path):
    """``geoapp <argv> --store tmp_path/s.gpkg``, signed in as ``who`` when given:
    (exit code, stdout, stderr)."""
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(accounts))

    def run(*argv: str, who: str | None = None):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        extra = ["--user", who, "--password-stdin"] if who else []
        code = cli.main(["store", *argv, *extra, "--store", str(tmp_path / "s.gpkg")])
        out = capsys.readouterr()
        return code, out.out, out.err

    run.store = tmp_path / "s.gpkg"
    return run


@pytest.fixture
def files(tmp_path):
    register, empty = tmp_path / "r.csv", tmp_path / "empty.csv"
    register.write_text(REGISTER, encoding="utf-8")
    empty.write_text(NO_VALID_ROW, encoding="utf-8")
    return register, empty


def _import(run, path, *lang):
    return run("import", "--facilities", str(path), "--as-of", AS_OF, *lang, who="steward1")


def test_info_in_chinese_by_default_and_in_english_when_asked(run):
    code, out, err = run("info")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"数据库：{run.store}（地区 220000）"
    assert re.fullmatch(
        r"设施登记表：共 1 个版本；当前为第 1 版，截至 2025-09-30，478 行，由 系统 于 \S+ 写入",
        lines[1],
    )
    assert lines[2].startswith("未就业残疾人数：共 1 个版本；当前为第 1 版，截至 2025-09-30，60 行")
    assert lines[3] == "完整性检查：正常"
    code, out, _ = run("info", "--lang", "en")
    lines = out.splitlines()
    assert lines[0] == f"store: {run.store} (region 220000)"
    assert re.fullmatch(
        r"Facility register: 1 version\(s\); current 1 as of 2025-09-30, 478 rows, "
        r"by system at \S+",
        lines[1],
    )
    assert lines[3] == "integrity: ok"


def test_import_and_rollback_in_chinese(run, files):
    register, empty = files
    code, out, err = _import(run, register)
    assert code == 0, err
    assert out.splitlines()[-1] == "已生成设施登记表第 2 版（截至 2025-12-31），现为当前版本。"
    assert err == "  第 3 行：拒绝：坐标无法读作十进制度或度分秒：经度“abc”，纬度“41.42”\n"
    code, out, err = _import(run, empty)
    assert code == 2
    assert out.splitlines()[-1] == "没有有效行，未生成设施登记表的新版本。"
    assert err.splitlines()[-1] == f"geoapp: error: {empty}：没有有效行；未生成设施登记表的新版本"
    assert run("rollback", "facilities", "1", who="steward1") == (
        0,
        "设施登记表第 1 版已重新成为当前版本\n",
        "",
    )
    assert run("rollback", "facilities", "2", "--lang", "en", who="steward1") == (
        0,
        "Facility register: version 2 is current again\n",
        "",
    )


def test_refusals_and_usage_errors_in_chinese(run, files):
    _, err = run("rollback", "facilities", "1", who="steward1")[1:]
    assert err == "geoapp: error: 设施登记表第 1 版已经是当前版本，无需回滚\n"
    _, err = run("rollback", "facilities", "1", who="viewer1")[1:]
    assert err == "geoapp: error: viewer1 是查看者；只有数据管理员才能回滚设施登记表\n"
    assert run("import", "--as-of", AS_OF, who="steward1") == (
        2,
        "",
        "geoapp: error: 请给出 --facilities 文件 和/或 --unemployed 文件\n",
    )
    missing = files[0].with_name("nowhere.csv")
    code, _, err = _import(run, missing)
    assert (code, err) == (2, f"geoapp: error: {missing}：文件不存在\n")
    code, _, err = run(
        "import", "--facilities", str(files[0]), "--as-of", "2025-13-31", who="steward1"
    )
    assert err == (
        "geoapp: error: --as-of：“2025-13-31”不是可用的日期，应写成 YYYY-MM-DD，例如 2025-12-31\n"
    )
    code, _, err = run(
        "import",
        "--facilities",
        str(files[0]),
        "--as-of",
        "2025-13-31",
        "--lang",
        "en",
        who="steward1",
    )
    assert err == (
        "geoapp: error: --as-of: as_of '2025-13-31' is not a valid date (month must be in 1..12)\n"
    )


def test_a_failed_sign_in_is_said_in_the_language(run, monkeypatch, capsys):
    def audit(*lang):
        monkeypatch.setattr("sys.stdin", io.StringIO("wrong\n"))
        argv = ["store", "audit", *lang, "--user", "steward1", "--password-stdin"]
        code = cli.main([*argv, "--store", str(run.store)])
        return code, capsys.readouterr().err

    assert audit() == (2, "geoapp: error: steward1 登录失败：用户名不存在或密码不正确\n")
    assert audit("--lang", "en") == (
        2,
        "geoapp: error: sign-in failed for 'steward1': unknown user or wrong password\n",
    )


def test_a_throttled_sign_in_is_said_in_chinese(run, accounts, monkeypatch):
    monkeypatch.setattr(auth.signin, "_now", lambda: datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    for _ in range(5):
        auth.verify("locked1", "wrong password", path=accounts)
    code, out, err = run("audit", who="locked1")
    assert (code, out) == (2, "")
    assert (
        err
        == "geoapp: error: 登录失败次数过多，已暂停登录。请在 15 分钟后（UTC 09:15 之后）再试。\n"
    )


def test_versions_and_audit_tables_are_headed_in_the_language(run, files):
    _import(run, files[0])
    code, out, _ = run("versions", "--dataset", "facilities")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == [
        "数据集", "版本", "截至", "写入时间（UTC）", "写入人", "来源文件", "行数", "上一版本", "说明", "当前",
    ]  # fmt: skip
    assert len(rows) == 2 and all(r.split()[0] == "设施登记表" for r in rows)
    assert "由内置演示数据创建" in rows[0] and "系统" in rows[0] and "<NA>" not in out
    code, out, _ = run("versions", "--dataset", "facilities", "--lang", "en")
    assert out.splitlines()[0].split()[:4] == ["Dataset", "Version", "As", "of"]
    assert "created from the embedded demo data" in out
    code, out, _ = run("audit", who="steward1")
    assert code == 0
    header = out.splitlines()[0].split()
    assert header[:5] == ["序号", "时间（UTC）", "操作人", "操作", "数据集"]
    assert "初始化" in out and "上传" in out and "init" not in out and "upload" not in out
    code, out, _ = run("audit", "--lang", "en", who="steward1")
    assert out.splitlines()[0].split()[:4] == ["No.", "At", "(UTC)", "Who"]
    assert "created" in out and "upload" in out


def test_user_add_in_chinese_by_default(tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.toml"
    for lang, said in (
        ((), f"已添加查看者账户 zhao（负责区域 220600），写入 {path}\n"),
        (("--lang", "en"), f"viewer qian for area 220600 -> {path}\n"),
    ):
        name = "zhao" if not lang else "qian"
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        argv = ["user", "add", name, "--role", "viewer", "--area", "220600", *lang]
        assert cli.main([*argv, "--password-stdin", "--accounts", str(path)]) == 0
        assert capsys.readouterr().out == said


def test_english_has_no_chinese_and_chinese_messages_are_chinese(run, files):
    register, empty = files
    english, chinese = [], []
    for lang, said in ((("--lang", "en"), english), ((), chinese)):
        said += run("info", *lang)[1:]
        said += _import(run, register, *lang)[1:]
        said += _import(run, empty, *lang)[1:]
        said += run("rollback", "facilities", "1", *lang, who="steward1")[1:]
        said += run("rollback", "facilities", "1", *lang, who="steward1")[1:]  # refused
        said += run("import", "--as-of", AS_OF, *lang, who="steward1")[1:]
        said += run("versions", *lang)[1:]
        said += run("audit", *lang, who="steward1")[1:]
    english_lines = [line for text in english for line in text.splitlines()]
    assert len(english_lines) > 20
    assert [line for line in english_lines if _CJK.search(line)] == []
    messages = [line for text in chinese[:12] for line in text.splitlines()]
    assert len(messages) > 12
    assert [line for line in messages if not _CJK.search(line)] == []
    assert [(line, w) for line in messages if (w := _english_words(line))] == []


def _english_words(line: str) -> list[str]:
    """Latin words of a Chinese line other than a path, an option, a timestamp or the
    ``geoapp: error:`` lead every command shares."""
    plain = re.sub(
        r"^geoapp: error: |\S*[/\\]\S*|\S+\.csv|--[a-z-]+|\d{4}-\d\d-\d\dT\S+", " ", line
    )
    plain = (
        re.sub(r"“[^”]*”|utf-8", " ", plain)
        .replace("YYYY-MM-DD", " ")
        .replace("geoapp store import", " ")
    )
    return re.findall(r"[A-Za-z]{2,}", plain)


# --- what used to reach a Chinese screen in English -------------------------------------------

NO_HEADER = "foo,bar\n1,2\n"
FACILITIES_NO_HEADER = (
    "前 2 行中找不到登记表的表头。表头需要有名称、类型，以及经纬度、县（市、区）或地址之一；"
    "请对照模板检查表头，或在“列对应”中手动指定"
)
COUNTS_NO_HEADER = (
    "前 2 行中找不到人数表的表头。表头需要有人数，以及行政区划代码或县（市、区）名称；"
    "请对照模板检查表头，或在“列对应”中手动指定"
)
ALL_OR_NOTHING_ZH = "同一次导入的文件要么一起保存，要么都不保存，因此没有保存任何文件"
ALL_OR_NOTHING_EN = "nothing was stored: the files of one import are stored together or not at all"


def _user_add(monkeypatch, path, name: str, *lang: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["user", "add", name, "--role", "viewer", *lang, "--password-stdin"]
    return cli.main([*argv, "--accounts", str(path)])


def test_user_add_says_what_is_wrong_with_the_accounts_file_in_the_language(
    tmp_path, monkeypatch, capsys
):
    path = tmp_path / "a.toml"
    assert _user_add(monkeypatch, path, "zhao") == 0
    capsys.readouterr()
    assert _user_add(monkeypatch, path, "zhao") == 2
    assert capsys.readouterr() == (
        "",
        f"geoapp: error: {path}：账户 zhao 已存在；如要修改，请加 --replace\n",
    )
    assert _user_add(monkeypatch, path, "zhao", "--lang", "en") == 2
    assert capsys.readouterr().err == (
        f"geoapp: error: {path}: user 'zhao' exists already; use replace=True (--replace) "
        "to change it\n"
    )
    path.chmod(0o666)
    assert _user_add(monkeypatch, path, "qian") == 2
    assert capsys.readouterr().err == (
        f"geoapp: error: 账户文件 {path} 可被其他用户写入（权限 0666）：请把 {path} 的权限改为 600（只有本人可读写）\n"
    )
    assert _user_add(monkeypatch, path, "qian", "--lang", "en") == 2
    assert capsys.readouterr().err == (
        f"geoapp: error: accounts file {path} is writable by others (mode 0666): chmod 600 {path}\n"
    )


def test_an_account_request_and_a_damaged_file_read_in_chinese(tmp_path):
    from geoapp.ingest import problem_text

    path = tmp_path / "a.toml"
    with pytest.raises(auth.AccountsError) as caught:
        auth.add_user("zhao", "short", role="viewer", path=path)
    assert problem_text(caught.value, "zh") == "密码至少需要 10 个字符"
    assert problem_text(caught.value, "en") == "the password must have at least 10 characters"
    path.write_text('[[user]]\nname = "zhao"\nrole = "boss"\nhash = "x"\n', encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(auth.AccountsError) as caught:
        auth.list_users(path=path)
    assert problem_text(caught.value, "zh") == (
        f"{path}：账户 zhao 的角色“boss”无效；可选：查看者、数据管理员、审核员"
    )
    assert problem_text(caught.value, "en") == (
        f"{path}: user 'zhao' has role 'boss'; expected one of ('viewer', 'steward', 'reviewer')"
    )


def test_a_refused_import_says_each_file_in_the_language(run, tmp_path):
    bad, bad_counts = tmp_path / "bad.csv", tmp_path / "badu.csv"
    good = tmp_path / "good.csv"
    bad.write_text(NO_HEADER, encoding="utf-8")
    bad_counts.write_text(NO_HEADER, encoding="utf-8")
    good.write_text(REGISTER, encoding="utf-8")

    def both(facilities, *lang):
        argv = ["import", "--facilities", str(facilities), "--unemployed", str(bad_counts)]
        return run(*argv, "--as-of", AS_OF, *lang, who="steward1")

    assert both(bad) == (
        2,
        "",
        f"geoapp: error: bad.csv：{FACILITIES_NO_HEADER}；badu.csv：{COUNTS_NO_HEADER}；"
        f"{ALL_OR_NOTHING_ZH}\n",
    )
    assert both(good) == (
        2,
        "",
        f"geoapp: error: badu.csv：{COUNTS_NO_HEADER}；{ALL_OR_NOTHING_ZH}\n",
    )
    assert _import(run, bad) == (2, "", f"geoapp: error: bad.csv：{FACILITIES_NO_HEADER}\n")
    code, out, err = both(bad, "--lang", "en")
    assert (code, out) == (2, "")
    assert err.startswith(
        "geoapp: error: bad.csv: no header row of a facility register found in the first 2 rows"
    )
    assert "; badu.csv: no header row of a table of unemployed disabled people found" in err
    assert err.endswith(f"; {ALL_OR_NOTHING_EN}\n")
    assert run.store.exists() and run("versions", "--dataset", "unemployed")[1].count("\n") == 2


def test_an_unbuilt_region_is_said_in_the_language(run):
    from geoapp import scope

    built = list(scope.region_names().items())
    zh = "、".join(f"{c} {n}" for c, n in built)
    en = ", ".join(f"{c} {n}" for c, n in built)
    assert run("info", "--region", "999999") == (
        2,
        "",
        f"geoapp: error: --region：“999999”不是已建好的地区；已建好的地区：{zh}。"
        "建立其他地区：geoapp data boundaries --region <行政区划代码或全称>\n",
    )
    assert run("info", "--region", "999999", "--lang", "en") == (
        2,
        "",
        f"geoapp: error: --region: '999999' is not a built region; built: {en}. "
        "Build another with: geoapp data boundaries --region <adcode or full name>\n",
    )


def test_submit_usage_errors_are_said_in_the_language(run, tmp_path):
    missing = tmp_path / "nowhere.csv"
    for lang, give, no_file in (
        ((), "请给出 --facilities 文件 和/或 --unemployed 文件", f"{missing}：文件不存在"),
        (
            ("--lang", "en"),
            "give --facilities PATH and/or --unemployed PATH",
            f"{missing}: no such file",
        ),
    ):
        assert run("submit", "--period", "2026Q1", *lang, who="steward1") == (
            2, "", f"geoapp: error: {give}\n",
        )  # fmt: skip
        argv = ["submit", "--facilities", str(missing), "--period", "2026Q1", *lang]
        assert run(*argv, who="steward1") == (2, "", f"geoapp: error: {no_file}\n")


def test_submit_says_why_a_register_made_no_submission_in_the_language(run, tmp_path):
    good, empty = tmp_path / "good.csv", tmp_path / "emptyu.csv"
    good.write_text(REGISTER.splitlines()[0] + "\n" + REGISTER.splitlines()[1] + "\n", "utf-8")
    empty.write_text("行政区划代码,未就业残疾人数\n220623,\n", encoding="utf-8")
    argv = ["submit", "--facilities", str(good), "--unemployed", str(empty), "--period", "2026Q1"]
    code, _, err = run(*argv, who="steward1")
    assert (code, err.splitlines()[-1]) == (
        2,
        "geoapp: error: good.csv：未保存：emptyu.csv 没有有效行；"
        "同一次导入的文件要么一起保存，要么都不保存",
    )
    code, _, err = run(*argv, "--lang", "en", who="steward1")
    assert (code, err.splitlines()[-1]) == (
        2,
        "geoapp: error: good.csv: not stored: emptyu.csv has no valid row; the files of one "
        "import are stored together or not at all",
    )
