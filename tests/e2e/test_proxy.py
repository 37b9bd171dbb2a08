"""The README's shared deployment, for real: nginx, configured with the README's own
block, in front of two ``geoapp run`` processes on one PostgreSQL + PostGIS store.

* The store is a database of the throwaway server of ``tests/pg_server.py`` (the
  ``pg_server`` fixture: skipped only where the PostgreSQL binaries are absent and
  ``GEOAPP_TEST_PG=optional``, as the store tests).
* Each dashboard is ``geoapp run --port P`` with the README's environment
  (``GEOAPP_STORE`` the database's URL, one ``GEOAPP_ACCOUNTS`` file for both) plus
  ``GEOAPP_REVIEW=off``, so that a steward's accepted register is the approval.
* nginx runs in the foreground as this user, its configuration the README's ```nginx
  block with only the listen line (no TLS here) and the two upstream ports replaced,
  wrapped in the ``events``/``http`` blocks a whole nginx.conf needs, every file it
  writes inside the test's folder. It listens on 127.0.0.2, not 127.0.0.1: Streamlit
  accepts a websocket from any 127.0.0.1 or localhost origin whatever the Host header
  says, and from any other origin only when Host names it (host and port) as a real
  server name does; on 127.0.0.2 the browser meets the proxy as it meets geoapp.example.

The browser opens the overview through nginx (the map draws only if the websocket
passes the proxy), signs in as 长白's steward and uploads a 3-row register there; then
the dashboard process that nginx did *not* pick, opened directly on its own port in a
fresh browser context, shows the new current version: what the README promises ("an
approval made through one process shows in the other on its next page view"). Every
process is stopped in the fixtures' teardown, whatever the test did, and its port is
then checked closed.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_support import (
    CHANGBAI_REGISTER,
    REPO,
    dataframe_rows,
    map_frame,
    metrics,
    open_page,
    page_url,
    sign_in,
    wait_for_dataframe_rows,
)

from geoapp import auth, launcher

README = REPO / "README.md"
README_SECTION = "## Several dashboards on one PostGIS store"
#: Where nginx listens: a loopback address Streamlit does not trust by name (see above).
PROXY_HOST = "127.0.0.2"
GEOAPP = Path(sys.executable).with_name("geoapp")
STARTUP_S = 60.0

PASSWORD = "proxy-steward-password"
STEWARD = "cb_steward"  # 长白朝鲜族自治县's steward
REGISTER_NAME = "长白-经代理.csv"
REGISTER = CHANGBAI_REGISTER
# 长白 has 2 facilities in the demo data, neither in the register: 478 - 2 + 3 = 479.
CLOSES = "本次报送将关闭 长白朝鲜族自治县（220623） 的 2 个设施"
CONFIRM = "我已核对，确认关闭（删除）这 2 条"
ACCEPT = "接受并报送（3 行）"
WRITTEN = "已写入第 2 版，并设为当前版本。"
# Over nginx's default request body limit (1 MB) and the app's own upload limit (20 MB),
# under client_max_body_size: the app's own refusal shows, not nginx's 413.
BIG = b"x,y\n" * 5_250_000  # 21,000,000 bytes
BIG_REFUSED = "文件被拒绝，未读取、未生成版本：大.csv：21.0 MB，超过上传上限 20.0 MB"


# --- the README's nginx block as a whole nginx.conf ---------------------------------------


def readme_nginx_block() -> str:
    """The ```nginx block of the README's section on several dashboards."""
    text = README.read_text(encoding="utf-8")
    _, found, section = text.partition(README_SECTION)
    block = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert found and block, f"{README}: no ```nginx block under {README_SECTION!r}"
    return block.group(1)


def nginx_conf(block: str, *, listen: str, upstreams: list[int], folder: Path) -> str:
    """``block`` served on ``listen`` (plain HTTP) by ``upstreams``, as nginx.conf.

    Only the ``listen`` line and the upstream ports change; a README whose block lost
    either fails here rather than testing something else.
    """
    block, listens = re.subn(r"^(\s*)listen\s[^;]*;.*$", rf"\1listen {listen};", block, flags=re.M)
    assert listens == 1, f"expected one listen line in the README's block:\n{block}"
    servers = iter(upstreams)
    block, n = re.subn(
        r"server 127\.0\.0\.1:\d+;", lambda _: f"server 127.0.0.1:{next(servers)};", block
    )
    assert n == len(upstreams), f"expected {len(upstreams)} upstream servers:\n{block}"
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers would run as nobody, who cannot enter pytest's folders.
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} notice;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    log_format upstream '$request_method $uri $status $upstream_addr';\n"
        f"    access_log {folder / 'access.log'} upstream;\n{temp}\n"
        f"{block}}}\n"
    )


# --- processes --------------------------------------------------------------------------------


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def assert_closed(host: str, port: int, what: str) -> None:
    """Nothing listens on ``host:port`` any more (the connection is refused)."""
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except ConnectionRefusedError:
        return
    except OSError as exc:
        pytest.fail(f"{what} on {host}:{port}: unexpected {exc!r}")
    pytest.fail(f"{what} still listens on {host}:{port} after it was stopped")


def wait_answering(url: str, process: subprocess.Popen, log: Path, *, timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail with ``log``'s tail if it never does."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # a poll of the condition, as launcher.wait_healthy
    tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
    pytest.fail(f"{url} did not answer within {timeout:.0f} s (exit {process.poll()}):\n{tail}")


@pytest.fixture(scope="module")
def store_url(pg_server) -> Iterator[str]:
    """An empty PostGIS database: the first dashboard creates the region's schema."""
    url = pg_server.database("proxy_store")
    yield url
    pg_server.drop("proxy_store")


@pytest.fixture(scope="module")
def dashboards(store_url, tmp_path_factory) -> Iterator[list[int]]:
    """Two ``geoapp run --port P`` on the one store: their ports, once both are healthy."""
    folder = tmp_path_factory.mktemp("proxy-dashboards")
    accounts = folder / "accounts.toml"
    auth.add_user(STEWARD, PASSWORD, role="steward", area="220623", path=accounts)
    env = {
        **os.environ,
        "GEOAPP_STORE": store_url,
        "GEOAPP_ACCOUNTS": str(accounts),
        "GEOAPP_REVIEW": "off",
    }
    ports = [launcher.free_port()]
    while len(ports) < 2:
        ports = [*{*ports, launcher.free_port()}]
    started = []
    try:
        for port in ports:
            log = folder / f"geoapp-{port}.log"
            command = [str(GEOAPP), "run", "--port", str(port)]
            started.append((port, launcher.start_background(command, log=log, env=env), log))
        for port, process, log in started:
            url = f"http://127.0.0.1:{port}/_stcore/health"
            wait_answering(url, process, log, timeout=STARTUP_S)
        yield ports
    finally:
        for _, process, _ in started:
            launcher.stop(process)
    for port in ports:
        assert_closed("127.0.0.1", port, "a geoapp run process")


@dataclass
class Proxy:
    url: str
    access_log: Path

    def upstream_ports(self) -> set[int]:
        """The dashboard ports that served the requests logged so far (websockets are
        logged only when they close)."""
        lines = self.access_log.read_text(errors="replace").splitlines()
        return {int(m.group(1)) for line in lines if (m := re.search(r"127\.0\.0\.1:(\d+)$", line))}


@pytest.fixture(scope="module")
def proxy(dashboards, tmp_path_factory) -> Iterator[Proxy]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        pytest.fail(
            "nginx not found: the proxy test needs Debian's nginx-light; install it with "
            "`bash scripts/setup-system.sh` (make test does)",
            pytrace=False,
        )
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port(PROXY_HOST)
    conf = folder / "nginx.conf"
    block = readme_nginx_block()
    listen = f"{PROXY_HOST}:{port}"
    conf.write_text(nginx_conf(block, listen=listen, upstreams=dashboards, folder=folder))
    command = [nginx, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, f"nginx refuses the README's block:\n{checked.stderr}"
    log = folder / "nginx.out"
    process = launcher.start_background(command, log=log)
    try:
        url = f"http://{PROXY_HOST}:{port}"
        wait_answering(f"{url}/_stcore/health", process, folder / "error.log", timeout=30)
        yield Proxy(url, folder / "access.log")
    finally:
        launcher.stop(process)
    assert_closed(PROXY_HOST, port, "nginx")


# --- the test ---------------------------------------------------------------------------------


def _upload_register(page) -> None:
    dropzone = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    dropzone.wait_for(state="attached", timeout=60_000)
    dropzone.set_input_files(files=[{"name": "大.csv", "mimeType": "text/csv", "buffer": BIG}])
    page.get_by_text(BIG_REFUSED).wait_for(timeout=60_000)
    dropzone.set_input_files(
        files=[{"name": REGISTER_NAME, "mimeType": "text/csv", "buffer": REGISTER}]
    )
    page.get_by_text(CLOSES).wait_for(timeout=90_000)
    page.get_by_text(CONFIRM).click()
    page.wait_for_function(
        "(name) => [...document.querySelectorAll('button')].some("
        "b => b.innerText.includes(name) && !b.disabled)",
        arg=ACCEPT,
        timeout=30_000,
    )
    page.get_by_role("button", name=ACCEPT).click()
    page.get_by_text(WRITTEN).first.wait_for(timeout=60_000)


def current_versions(browser, base_url: str) -> set[tuple[str, str, str]]:
    """(数据集, 版本, 行数) of the current versions on the signed-out data page of
    ``base_url``, in a fresh browser context (a new Streamlit session)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        page = context.new_page()
        open_page(page, page_url(base_url, "data"))
        wait_for_dataframe_rows(page, lambda rows: len(rows) >= 2, timeout=30)
        rows = dataframe_rows(page)
        return {(r["数据集"], r["版本"], r["行数"]) for r in rows if r["当前"] == "✔"}
    finally:
        context.close()


def test_an_upload_through_nginx_shows_in_the_other_dashboard(
    proxy, dashboards, browser, page, page_log, tmp_path
):
    # The overview through nginx: the map draws only over the proxied websocket.
    open_page(page, proxy.url + "/")
    map_frame(page)
    assert page.locator("h1").first.inner_text().strip() == "残疾人就业资源地图"
    assert page.title().startswith("残疾人就业资源地图")
    assert metrics(page)["就业服务设施"] == "478"  # the demo data, put into PostGIS
    page.screenshot(path=str(tmp_path / "overview-through-nginx.png"))
    served = proxy.upstream_ports()
    assert len(served) == 1 and served <= set(dashboards), served  # ip_hash: one process
    (other,) = set(dashboards) - served
    other_url = f"http://127.0.0.1:{other}"
    before = {("设施登记表", "1", "478"), ("未就业残疾人数", "1", "60")}
    assert current_versions(browser, other_url) == before  # and its caches are warm

    # A steward's register, uploaded through nginx (XSRF token, upload size, session).
    open_page(page, page_url(proxy.url, "data"))
    sign_in(page, STEWARD, PASSWORD)
    _upload_register(page)
    page_log.assert_clean("through nginx")
    assert proxy.upstream_ports() == served  # the whole session stayed on one process

    # The other process, on its next page view, shows the new current version.
    after = {("设施登记表", "2", "479"), ("未就业残疾人数", "1", "60")}
    assert current_versions(browser, other_url) == after
