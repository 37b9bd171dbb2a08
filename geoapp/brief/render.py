"""The two A4 pages of the brief, drawn with matplotlib and written as one PDF.

Page 1: title, the demo-data notice, the one-line summary, and the map of the region's
counties in a projection fitted to the region (:func:`geoapp.display.fitted_crs`), the
units that fail a mandatory rule marked as the dashboard marks them (counties hatched,
prefectures dotted, both with a dashed outline, so that nothing rests on colour alone),
with a legend naming them and a scale bar. Page 2: progress bars against the region-wide targets, the people targets,
the first rows of the gap list and where the data come from.

Text is drawn with the subset Chinese font of :mod:`geoapp.brief.fonts` as Type 42
(TrueType) fonts, embedded and searchable. matplotlib's settings are global, so a lock
keeps two briefs drawn at the same time (two dashboard sessions) apart.
"""

from __future__ import annotations

import threading
from datetime import datetime
from io import BytesIO

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from geoapp.brief.content import BriefContent, MapMarks, Table
from geoapp.brief.fonts import brief_font
from geoapp.brief.layout import A4_MM, HEAD, INK, MARGIN, MUTED, PT, Page, wrap
from geoapp.display import fitted_crs
from geoapp.facilities import load_types

__all__ = ["GAP_COLOUR", "MARK_STYLES", "render_pdf"]

#: The dashboard's gap colour (layers.overlays.GAP_COLOUR, a PiYG magenta apart from the
#: grey of the other units); the patterns and the dashed outlines carry the meaning.
GAP_COLOUR = "#c51b7d"
TINT = "#f6e3ee"  # GAP_COLOUR at 12 % on white
#: As on the dashboard: counties hatched, prefectures dotted (drawn first, under them).
#: Solid outlines: the dashboard's dashes, on borders this jagged at A4 scale, print
#: as blots.
MARK_STYLES = {
    "county": {"hatch": "////", "linewidth": 1.9},
    "prefecture": {"hatch": "oo", "linewidth": 2.6},
}
BASE_FILL = "#efefef"
COUNTY_EDGE = "#b5b5b5"
PREFECTURE_EDGE = "#3a3a3a"
WIDTH = A4_MM[0] - 2 * MARGIN
FOOTER_MM = 16.0  # the footer and the space above it
_LOCK = threading.Lock()
_HALO = [patheffects.withStroke(linewidth=2.6, foreground="white")]


def _rc(family: str) -> dict:
    return {
        "pdf.fonttype": 42,
        "font.family": [family, "DejaVu Sans"],
        "text.parse_math": False,
        "hatch.linewidth": 1.1,
        "axes.unicode_minus": False,
    }


# --- page 1 --------------------------------------------------------------------------------


def _page_head(page: Page, content: BriefContent, *, size: float = 19.0) -> float:
    page.text(MARGIN, MARGIN, content.title, size, color=HEAD)
    y = MARGIN + size * PT * 1.55
    for line in content.context:
        y = page.para(MARGIN, y, line, 8.5, WIDTH, color=MUTED)
    y += 2.0
    if content.demo_note:
        y = page.banner(y, content.demo_note)
    return y


def _footer(page: Page, content: BriefContent, number: int) -> None:
    y = A4_MM[1] - 10.5
    page.rule(MARGIN, y - 1.5, WIDTH)
    page.para(MARGIN, y, content.footer.format(page=number), 7.5, WIDTH, color=MUTED)


def _map_frames(counties: gpd.GeoDataFrame, prefectures: gpd.GeoDataFrame):
    """Counties and prefectures in the region's own projection, simplified together to a
    tenth of a millimetre on paper (borders stay shared; the file shrinks by a third)."""
    metric = counties.to_crs(fitted_crs(counties))
    minx, miny, maxx, maxy = metric.total_bounds
    tolerance = max(maxx - minx, maxy - miny) / WIDTH * 0.1
    metric = metric.set_geometry(shapely.coverage_simplify(metric.geometry.values, tolerance))
    shapes = {
        code: shapely.coverage_union_all(group.geometry.values)
        for code, group in metric.groupby("prefecture_adcode")
    }
    known = prefectures[prefectures["adcode"].isin(shapes)]
    dissolved = gpd.GeoDataFrame(
        known[["adcode", "name"]],
        geometry=[shapes[code] for code in known["adcode"]],
        crs=metric.crs,
    )
    return metric, dissolved


def _draw_marks(ax, marks: tuple[MapMarks, ...], counties, prefectures) -> None:
    """Pattern and dashed outline on the failing units, prefectures under counties."""
    for mark in sorted(marks, key=lambda m: m.level != "prefecture"):
        style = MARK_STYLES[mark.level]
        layer = prefectures if mark.level == "prefecture" else counties
        failing = layer[layer["adcode"].isin([code for code, _ in mark.units])]
        if failing.empty:
            continue
        # The tint and the pattern apart: a hatch drawn with a translucent face is
        # filled with the face's colour in matplotlib's PDF, which hides its lines.
        failing.plot(ax=ax, facecolor=TINT, linewidth=0, zorder=2)
        failing.plot(
            ax=ax, facecolor="none", edgecolor=GAP_COLOUR, hatch=style["hatch"], lw=0, zorder=2
        )
        # above the prefecture borders (zorder 3): the outline is part of the sign
        failing.boundary.plot(
            ax=ax,
            color=GAP_COLOUR,
            linewidth=style["linewidth"],
            zorder=4,
        )


def _labels(ax, content: BriefContent, counties, prefectures) -> None:
    """Names of the failing units first; a prefecture's name only where it has room."""
    renderer = FigureCanvasAgg(ax.figure).get_renderer()
    placed = []
    failing = {code: name for mark in content.map_marks for code, name in mark.units}
    shapes = {
        **dict(zip(prefectures["adcode"], prefectures.geometry, strict=True)),
        **dict(zip(counties["adcode"], counties.geometry, strict=True)),
    }
    names = [(code, name, True) for code, name in failing.items()]
    names += [(c, n, False) for c, n in content.prefecture_labels if c not in failing]
    for code, name, important in names:
        shape = shapes.get(code)
        if shape is None:
            continue
        point = shape.representative_point()
        label = ax.text(
            point.x,
            point.y,
            name,
            fontsize=8.5 if important else 7.5,
            color=INK if important else "#4a4a4a",
            ha="center",
            va="center",
            path_effects=_HALO,
            zorder=5,
        )
        box = label.get_window_extent(renderer).expanded(1.05, 1.15)
        if not important and any(box.overlaps(other) for other in placed):
            label.remove()
            continue
        placed.append(box)


def _scale_bar(ax) -> None:
    """A bar of a round number of kilometres at the map's lower left."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) / 5 / 1000
    km = max(k for k in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if k <= max(target, 5))
    left, base = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.04
    ax.plot([left, left + km * 1000], [base, base], color=INK, linewidth=2.2, zorder=6)
    for x in (left, left + km * 1000):
        ax.plot([x, x], [base, base + (y1 - y0) * 0.012], color=INK, linewidth=1.2, zorder=6)
    ax.text(left, base + (y1 - y0) * 0.02, f"0    {km:,} km", fontsize=7.5, color=INK, zorder=6)


def _draw_map(page: Page, content: BriefContent, top: float, bottom: float, frames) -> float:
    """The map between ``top`` and ``bottom`` (mm); returns the y below the map drawn."""
    counties, prefectures = frames
    height = bottom - top
    ax = page.figure.add_axes(
        (MARGIN / A4_MM[0], 1 - bottom / A4_MM[1], WIDTH / A4_MM[0], height / A4_MM[1])
    )
    counties.plot(ax=ax, facecolor=BASE_FILL, edgecolor=COUNTY_EDGE, linewidth=0.4, zorder=1)
    _draw_marks(ax, content.map_marks, counties, prefectures)
    prefectures.boundary.plot(ax=ax, color=PREFECTURE_EDGE, linewidth=0.9, zorder=3)
    ax.set_aspect("equal")
    ax.set_anchor("N")
    ax.set_axis_off()
    ax.apply_aspect()
    _labels(ax, content, counties, prefectures)
    _scale_bar(ax)
    box = ax.get_position()
    return (1 - box.y0) * A4_MM[1]


LEGEND_TEXT_X = 14.0  # mm from the margin: where a legend row's words start
LEGEND_SIZE, NAMES_SIZE = 9.5, 8.5


def _legend_rows(content: BriefContent) -> list[tuple[dict, str, str]]:
    """(swatch style, meaning, names) per legend row: each level marked, other units, borders."""
    rows = [
        (
            {"facecolor": TINT, "hatch": MARK_STYLES[mark.level]["hatch"], "edgecolor": GAP_COLOUR},
            mark.legend,
            mark.names,
        )
        for mark in content.map_marks
    ]
    rows.append(({"facecolor": BASE_FILL, "edgecolor": COUNTY_EDGE}, content.legend_other, ""))
    rows.append(({"line": PREFECTURE_EDGE}, content.legend_border, ""))
    return rows


def _legend(page: Page, content: BriefContent, y: float, *, draw: bool = True) -> float:
    """The legend under the map; returns the y below it (``draw=False``: only measures)."""
    width = WIDTH - LEGEND_TEXT_X
    for style, meaning, names in _legend_rows(content):
        top = y
        if draw:
            if "line" in style:
                page.box(MARGIN, y + 2.2, 10, 0.3, facecolor=style["line"], edgecolor="none")
            else:
                page.box(MARGIN, y + 0.3, 10, 4.4, linewidth=1.6, **style)
            y = page.para(MARGIN + LEGEND_TEXT_X, y, meaning, LEGEND_SIZE, width)
            if names:
                y = page.para(MARGIN + LEGEND_TEXT_X, y, names, NAMES_SIZE, width, color=MUTED)
        else:
            y += len(wrap(meaning, page.prop(LEGEND_SIZE), width)) * LEGEND_SIZE * PT * 1.4
            if names:
                y += len(wrap(names, page.prop(NAMES_SIZE), width)) * NAMES_SIZE * PT * 1.4
        y = max(y, top + 5.0) + 1.2
    return y


def _page_one(page: Page, content: BriefContent, frames) -> None:
    y = _page_head(page, content)
    y = page.para(MARGIN, y, content.summary, 14.0, WIDTH, color="#7a1f00")
    y = page.para(MARGIN, y + 0.8, content.people_line, 10.0, WIDTH)
    y = page.heading(y + 3.0, content.map_heading)
    below = _legend(page, content, 0.0, draw=False) + 8.0  # the legend and the source note
    bottom = A4_MM[1] - FOOTER_MM - below
    y = _draw_map(page, content, y + 1.0, bottom, frames)
    y = _legend(page, content, y + 3.0)
    page.para(MARGIN, y + 1.0, content.map_note, 7.5, WIDTH, color=MUTED)
    _footer(page, content, 1)


# --- page 2 --------------------------------------------------------------------------------


def _bars(page: Page, content: BriefContent, y: float) -> float:
    """Horizontal bars: actual as a share of target, the target line at 100 %."""
    if not content.bars:
        return page.para(MARGIN, y, content.progress_note, 9.0, WIDTH)
    colours = {k: ft.colour for k, ft in load_types().items()}
    top, height, left = y + 5.0, 7.0 * len(content.bars), MARGIN + 56.0
    ax = page.figure.add_axes(
        (
            left / A4_MM[0],
            1 - (top + height) / A4_MM[1],
            (A4_MM[0] - MARGIN - left) / A4_MM[0],
            height / A4_MM[1],
        )
    )
    pct = np.array([b.share * 100 for b in content.bars])
    rows = np.arange(len(content.bars))
    ax.barh(
        rows,
        pct,
        height=0.62,
        color=[colours.get(b.facility_type, "#888888") for b in content.bars],
        edgecolor="#333333",
        linewidth=0.6,
    )
    right = max(130.0, float(pct.max()) + 45)
    for row, bar, value in zip(rows, content.bars, pct, strict=True):
        ax.text(value + right * 0.012, row, bar.text, va="center", fontsize=8.5, color=INK)
    ax.axvline(100, color="#000000", linestyle=(0, (4, 3)), linewidth=1.2)
    ax.text(100, -0.55, content.target_label, ha="center", va="bottom", fontsize=8, color=INK)
    ax.set_xlim(0, right)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(rows, [b.label for b in content.bars], fontsize=9)
    ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(decimals=0))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(content.progress_axis, fontsize=8.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    return page.para(MARGIN, top + height + 11.0, content.progress_note, 7.5, WIDTH, color=MUTED)


_GAP_WIDTHS = {
    "zh": [12.0, 29.0, 39.0, 50.0, 15.0, 12.0, 25.0],
    "en": [12.0, 27.0, 31.0, 50.0, 20.0, 15.0, 27.0],
}
_PEOPLE_WIDTHS = [63.0, 26.0]  # one of two tables side by side
DATA_LABEL_MM = 34.0
GAPS_HEADING = 13.0


def _people(page: Page, people: Table, y: float) -> float:
    """The people targets in two tables side by side (half the height of one)."""
    half = (len(people.rows) + 1) // 2
    bottoms = []
    for part, x in ((people.rows[:half], MARGIN), (people.rows[half:], MARGIN + WIDTH / 2 + 2)):
        if part:
            table = Table(people.columns, part, people.numeric)
            bottoms.append(page.table(y, table, _PEOPLE_WIDTHS, size=8.0, x=x)[0])
    return max(bottoms)


def _data(page: Page, content: BriefContent, *, draw: bool = True) -> float:
    """The data block, ending above the footer; returns where it starts."""
    step = 8.0 * PT * 1.4 + 0.4
    lines = [len(wrap_lines(page, value)) for _, value in content.data_lines]
    y = A4_MM[1] - FOOTER_MM - sum(lines) * step - 10.0
    if draw:
        at = page.heading(y, content.data_heading, size=11.0)
        for label, value in content.data_lines:
            page.text(MARGIN, at, label, 8.0, color=MUTED)
            at = page.para(MARGIN + DATA_LABEL_MM, at, value, 8.0, WIDTH - DATA_LABEL_MM) + 0.4
    return y


def wrap_lines(page: Page, value: str) -> list[str]:
    return wrap(value, page.prop(8.0), WIDTH - DATA_LABEL_MM)


def _page_two(page: Page, content: BriefContent) -> None:
    page.text(MARGIN, MARGIN, content.title, 13.0, color=HEAD)
    y = MARGIN + 13.0 * PT * 1.6
    if content.demo_note:
        y = page.banner(y, content.demo_note)
    y = page.heading(y, content.progress_heading)
    y = _bars(page, content, y)
    if content.people is not None:
        y = page.heading(y + 2.5, content.people_heading, size=11.0)
        y = _people(page, content.people, y)
    heading_at = y + 2.5
    y = page.heading(heading_at, "", size=GAPS_HEADING)  # the rule now, the words below
    data_top = _data(page, content)
    shown = 0
    if content.gaps.rows:
        # As many rows as fit above the data block (all of them for every shipped policy).
        note = len(wrap(content.gaps_note, page.prop(7.5), WIDTH)) * 7.5 * PT * 1.4
        bottom = data_top - note - 2.5
        y, shown = page.table(y, content.gaps, _GAP_WIDTHS[content.lang], bottom=bottom, size=8.2)
    page.text(
        MARGIN, heading_at, content.gaps_heading.format(shown=shown), GAPS_HEADING, color=HEAD
    )
    page.para(MARGIN, y, content.gaps_note.format(shown=shown), 7.5, WIDTH, color=MUTED)
    _footer(page, content, 2)


def render_pdf(
    content: BriefContent,
    *,
    counties: gpd.GeoDataFrame,
    prefectures: gpd.GeoDataFrame,
    created: datetime | None = None,
) -> bytes:
    """The brief as PDF bytes: two A4 pages, fonts embedded."""
    frames = _map_frames(counties, prefectures)
    out = BytesIO()
    size = (A4_MM[0] / 25.4, A4_MM[1] / 25.4)
    with _LOCK:  # matplotlib's font registry and settings are shared by every thread
        family = brief_font(content.text(), lang=content.lang)
        _draw_pdf(out, content, frames, family, size, created)
    return out.getvalue()


def _draw_pdf(out: BytesIO, content: BriefContent, frames, family: str, size, created) -> None:
    with mpl.rc_context(_rc(family)):
        metadata = {"Title": content.title, "Creator": "geoapp brief", "CreationDate": created}
        with PdfPages(out, metadata=metadata) as pdf:
            for draw in (lambda p: _page_one(p, content, frames), lambda p: _page_two(p, content)):
                figure = Figure(figsize=size)
                draw(Page(figure, [family, "DejaVu Sans"]))
                pdf.savefig(figure)
