"""Screenshots of every page, in Chinese, at two window sizes (docs/screenshots/ on request).

Artefacts for the documentation and for a human to look at, not golden images: the
tests check that each file was written and holds a real picture (> 20 KB), and that
the machine has CJK fonts (without them Chromium draws Chinese as empty boxes).
The window is grown to the height of the page's content, so each file shows the whole
page: <page>-<width>x<height>.png is named after the window it was taken in.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest
from e2e_support import PAGES, REPO, expand_to_content, open_page, page_url, wait_for_content

pytestmark = pytest.mark.e2e

# Every run writes fresh screenshots to a git-ignored folder; GEOAPP_UPDATE_SCREENSHOTS=1
# writes them into docs/screenshots/ instead, the committed set the README shows.
OUT = (
    REPO / "docs" / "screenshots"
    if os.environ.get("GEOAPP_UPDATE_SCREENSHOTS") == "1"
    else REPO / "bench" / "results" / "screenshots"
)
SIZES = [(1366, 768), (1920, 1080)]
MIN_BYTES = 20 * 1024


def test_cjk_fonts_are_installed():
    fc_list = shutil.which("fc-list")
    assert fc_list, "fontconfig is missing: run `bash scripts/setup-system.sh`"
    families = subprocess.run(
        [fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=True
    ).stdout
    assert "CJK" in families or "Noto" in families, (
        "no font with Chinese glyphs (fc-list :lang=zh is empty): screenshots would show "
        "boxes instead of Chinese. Run `bash scripts/setup-system.sh` (fonts-noto-cjk)."
    )


def _png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("name", list(PAGES))
def test_screenshot(app_url, page, name, size):
    width, height = size
    url = page_url(app_url, name)
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, url)
    wait_for_content(page, has_map=True if name == "overview" else None)
    expand_to_content(page, width, height)  # waits until charts and the map stop reflowing
    wait_for_content(page)

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{width}x{height}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")

    assert path.stat().st_size > MIN_BYTES, f"{path} is only {path.stat().st_size} bytes"
    shot_width, shot_height = _png_size(path)
    assert shot_width == width and shot_height >= height, (shot_width, shot_height)
