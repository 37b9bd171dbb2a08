"""Placing text on an A4 page in millimetres: lines that wrap, boxes, tables.

matplotlib wraps text only at spaces, which Chinese has none of; :func:`wrap` measures
each piece with the page's font and breaks between any two Chinese characters (never
before a closing punctuation mark) and between Latin words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path

from geoapp.brief.content import Table

__all__ = ["A4_MM", "HEAD", "INK", "MARGIN", "MUTED", "PT", "Page", "wrap"]

A4_MM = (210.0, 297.0)
MARGIN = 14.0
PT = 25.4 / 72  # millimetres per point
INK = "#1a1a1a"
HEAD = "#0b3c6f"
MUTED = "#555555"
RULE = "#999999"
SHADE = "#f2f2f2"
LINE_SPACING = 1.4
# A Latin word (with what sticks to it) or one other character: the units a line breaks between.
_LATIN = "A-Za-z0-9.,:;!?%'’\"“”()/\\-"
_TOKENS = re.compile(rf"[{_LATIN}]+\s*|\s+|.")
_NO_LINE_START = set("，。、；：！？）》」』”’,.;:!?)%")


@lru_cache(maxsize=8192)
def _token_mm(token: str, family: tuple[str, ...], size: float) -> float:
    prop = FontProperties(family=list(family), size=size)
    width, _, _ = text_to_path.get_text_width_height_descent(token, prop, ismath=False)
    return width * PT


def wrap(text: str, prop: FontProperties, width_mm: float) -> list[str]:
    """``text`` in lines no wider than ``width_mm`` at ``prop``'s size and font.

    A line's width is the sum of its pieces' widths (kerning between pieces ignored).
    """
    family, size = tuple(prop.get_family()), prop.get_size_in_points()
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for token in _TOKENS.findall(paragraph):
            width = _token_mm(token.rstrip(), family, size)
            fits = used + width <= width_mm
            if fits or not line.strip() or token[0] in _NO_LINE_START:
                line += token
                used += _token_mm(token, family, size)
                continue
            lines.append(line.rstrip())
            line = token.lstrip()
            used = _token_mm(line, family, size)
        lines.append(line.rstrip())
    return lines


@dataclass
class Page:
    """One A4 figure, drawn in millimetres from the top left corner."""

    figure: Figure
    family: list[str]

    def prop(self, size: float) -> FontProperties:
        return FontProperties(family=self.family, size=size)

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return x / A4_MM[0], 1 - y / A4_MM[1]

    def text(self, x: float, y: float, text: str, size: float, **style) -> None:
        """One line whose top is at ``y``."""
        style = {"color": INK, "va": "top", "ha": "left", **style}
        self.figure.text(*self._xy(x, y), text, fontproperties=self.prop(size), **style)

    def para(self, x: float, y: float, text: str, size: float, width: float, **style) -> float:
        """``text`` wrapped to ``width`` mm from ``y``; returns the y below it."""
        step = size * PT * LINE_SPACING
        lines = wrap(text, self.prop(size), width)
        ha = style.get("ha", "left")
        anchor = x + width if ha == "right" else x
        for i, line in enumerate(lines):
            self.text(anchor, y + i * step, line, size, **style)
        return y + len(lines) * step

    def box(self, x: float, y: float, w: float, h: float, **style) -> None:
        left, top = self._xy(x, y)
        self.figure.patches.append(
            Rectangle(
                (left, top - h / A4_MM[1]),
                w / A4_MM[0],
                h / A4_MM[1],
                transform=self.figure.transFigure,
                figure=self.figure,
                **style,
            )
        )

    def rule(self, x: float, y: float, w: float, *, color: str = RULE, lw: float = 0.6) -> None:
        self.box(x, y, w, 0.01, facecolor=color, edgecolor=color, linewidth=lw)

    def heading(self, y: float, text: str, *, size: float = 13.0) -> float:
        """A section heading with a rule under it; returns the y below."""
        self.text(MARGIN, y, text, size, color=HEAD)
        y += size * PT * 1.45
        self.rule(MARGIN, y, A4_MM[0] - 2 * MARGIN, color=HEAD, lw=0.8)
        return y + 2.0

    def banner(self, y: float, text: str, *, size: float = 9.5) -> float:
        """Text in a framed box (the demo-data notice); returns the y below it."""
        width = A4_MM[0] - 2 * MARGIN
        lines = wrap(text, self.prop(size), width - 8)
        height = len(lines) * size * PT * LINE_SPACING + 3.2
        self.box(MARGIN, y, width, height, facecolor="#fff4d6", edgecolor="#8a5a00", linewidth=1.2)
        self.para(MARGIN + 4, y + 1.8, text, size, width - 8, color="#3d2800")
        return y + height + 2.5

    def table(
        self,
        y: float,
        table: Table,
        widths: list[float],
        *,
        size: float = 8.5,
        bottom: float = A4_MM[1],
        x: float = MARGIN,
    ) -> tuple[float, int]:
        """Header and rows, each cell wrapped to its column, as many rows as end above
        ``bottom``; returns the y below and the number of rows drawn."""
        step = size * PT * LINE_SPACING
        shown = 0
        for i, row in enumerate([table.columns, *table.rows]):
            cells = [
                wrap(str(value), self.prop(size), w - 2.4)
                for value, w in zip(row, widths, strict=True)
            ]
            height = max(len(c) for c in cells) * step + 1.4
            if i and y + height > bottom:
                break
            if i == 0 or i % 2 == 0:
                colour = "#dde6ef" if i == 0 else SHADE
                self.box(x, y, sum(widths), height, facecolor=colour, edgecolor="none")
            left = x
            for lines, w, numeric in zip(cells, widths, table.numeric, strict=True):
                ha, at = ("right", left + w - 1.2) if numeric else ("left", left + 1.2)
                for k, line in enumerate(lines):
                    self.text(at, y + 0.8 + k * step, line, size, ha=ha)
                left += w
            y += height
            shown = i
        self.rule(x, y, sum(widths))
        return y + 1.5, shown
