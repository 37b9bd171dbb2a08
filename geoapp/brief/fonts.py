"""The Chinese font of the brief: found, cut down to the characters used, embedded.

Where the font comes from, in order:

1. Noto Sans SC from the PyPI package ``pylopdf-fonts-zh-cn`` (SIL OFL), a dependency of
   geoapp, so that ``pip install`` alone gives every machine a Chinese font;
2. a Chinese font installed on the system that matplotlib knows (Debian's
   fonts-noto-cjk, WenQuanYi, Source Han Sans ...).

The font is subset to the characters of the brief and, when its outlines are CFF (Noto
Sans SC ships as an OpenType/CFF file), converted to TrueType outlines (fontTools'
cu2qu): matplotlib embeds a Type 42 font as a TrueType CID font, and a CFF font in that
slot makes a PDF that some viewers and printers refuse. The subset gets a family name
of its own, so that matplotlib's font cache never mixes two subsets.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

from geoapp.i18n import t

__all__ = ["BriefFontError", "FontFile", "brief_font", "find_font"]

#: The PyPI package that ships the font, and its function returning the file's path.
FONT_PACKAGE = ("pylopdf_fonts_zh_cn", "sans_path")
#: System fonts worth trying, best first (family names as the fonts give them).
SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
_CJK_START = 0x2E80  # CJK radicals onwards: the characters a Latin font lacks
#: Always in the subset: what axes, scale bars and numbers may show besides the texts.
BASE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "—–·…%"
#: Left to matplotlib's own DejaVu Sans: the CJK fonts draw ≥ as a slanted ⩾ and × wide.
LATIN_SYMBOLS = set("≥≤≈×")


class BriefFontError(RuntimeError):
    """No usable Chinese font: the message (in the brief's language) says what to install."""


@dataclass(frozen=True)
class FontFile:
    """A font file and, for a collection (.ttc), which font in it."""

    path: Path
    index: int = 0
    family: str = ""


def _package_font() -> FontFile | None:
    module_name, function = FONT_PACKAGE
    try:
        module = importlib.import_module(module_name)
        path = Path(getattr(module, function)())
    except (ImportError, AttributeError, OSError):
        return None
    return FontFile(path) if path.is_file() else None


def _collection_index(path: Path, family: str) -> int:
    """Which font of a .ttc is ``family`` (0 when not a collection or not found)."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    collection = TTCollection(str(path), lazy=True)
    for i, font in enumerate(collection.fonts):
        names = {str(r) for r in font["name"].names if r.nameID in (1, 16)}
        if family in names:
            return i
    return 0


def _system_fonts() -> list[FontFile]:
    from matplotlib import font_manager

    by_family: dict[str, Path] = {}
    for entry in font_manager.fontManager.ttflist:
        if entry.name in SYSTEM_FAMILIES and entry.weight in (400, "normal", "regular"):
            by_family.setdefault(entry.name, Path(entry.fname))
    return [
        FontFile(path, _collection_index(path, family), family)
        for family in SYSTEM_FAMILIES
        if (path := by_family.get(family)) is not None
    ]


def _missing(font: TTFont, text: str) -> set[str]:
    cmap = font.getBestCmap() or {}
    return {c for c in set(text) if ord(c) >= _CJK_START and ord(c) not in cmap}


def find_font(text: str, *, lang: str) -> FontFile:
    """The first font that has every Chinese character of ``text``.

    Raises
    ------
    BriefFontError
        When none has, saying which characters are missing or which package to install.
    """
    candidates = [f for f in (_package_font(), *_system_fonts()) if f is not None]
    missing: set[str] = set()
    for candidate in candidates:
        font = TTFont(str(candidate.path), fontNumber=candidate.index, lazy=True)
        lacking = _missing(font, text)
        font.close()
        if not lacking:
            return candidate
        missing |= lacking
    if not candidates:
        raise BriefFontError(t("brief.no_font", lang).format(package="pylopdf-fonts-zh-cn"))
    shown = "".join(sorted(missing)[:20])
    raise BriefFontError(t("brief.font_lacks", lang).format(chars=shown))


def _to_truetype(font: TTFont) -> None:
    """Replace CFF outlines by quadratic TrueType ones (``glyf``), in place."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["loca"] = newTable("loca")
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        glyph.recalcBounds(glyf)
        width, _ = hmtx[name]
        hmtx[name] = (width, getattr(glyph, "xMin", 0))
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxPoints",
        "maxContours",
        "maxCompositePoints",
        "maxCompositeContours",
        "maxComponentDepth",
    ):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 3.0  # no glyph names: a CID font's are meaningless
    font.sfntVersion = "\x00\x01\x00\x00"


def _rename(font: TTFont, family: str) -> None:
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (16, 17, 21, 22):
            names.removeNames(nameID=record.nameID)
    for name_id, value in ((1, family), (2, "Regular"), (4, family), (6, family)):
        names.setName(value, name_id, 3, 1, 0x409)
        names.setName(value, name_id, 1, 0, 0)


def subset_font(source: FontFile, text: str, family: str) -> bytes:
    """A TrueType font of ``source`` holding only the glyphs of ``text``, named ``family``."""
    font = TTFont(str(source.path), fontNumber=source.index, lazy=True)
    options = subset.Options()
    options.layout_features = []  # no shaping needed for Chinese and Latin text
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.drop_tables += ["VORG", "vhea", "vmtx", "BASE", "GSUB", "GPOS", "GDEF"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + " ")
    subsetter.subset(font)
    if "CFF " in font:
        _to_truetype(font)
    _rename(font, family)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


@cache
def _font_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="geoapp-brief-fonts-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@cache
def _registered(source: FontFile, characters: str) -> str:
    from matplotlib import font_manager

    digest = hashlib.sha1(f"{source}|{characters}".encode()).hexdigest()[:12]
    family = f"GeoappBrief{digest}"
    path = _font_dir() / f"{family}.ttf"
    path.write_bytes(subset_font(source, characters, family))
    font_manager.fontManager.addfont(str(path))
    return family


def brief_font(text: str, *, lang: str) -> str:
    """The matplotlib family name of a Chinese font holding every character of ``text``.

    Made once per process for each set of characters (a subset of the font, in a
    temporary folder removed at exit).

    Raises
    ------
    BriefFontError
        When no installed font has the characters (see :func:`find_font`).
    """
    characters = "".join(sorted(set(text + BASE_CHARACTERS) - {"\n", "\t"} - LATIN_SYMBOLS))
    return _registered(find_font(characters, lang=lang), characters)
