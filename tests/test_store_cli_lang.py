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
