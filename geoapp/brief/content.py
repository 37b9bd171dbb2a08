"""What the brief says: every sentence and number, from the gap list the pages show.

The brief is built from a :class:`geoapp.analysis.reports.GapList` (the one the gap
page and ``geoapp gaps`` build for the same options) and its
:class:`~geoapp.analysis.coverage.GapResult`: the gap rows, the ranks and the
region-wide progress are theirs, never computed again here. This module only turns
them into text in one language (labels from ``data/i18n.toml``, numbers with thousands
separators). No drawing and no font: :class:`BriefContent` is plain text, so a test
reads the sentence a leader reads without opening a PDF.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

import pandas as pd

from geoapp.analysis.coverage import GapResult
from geoapp.analysis.gap_marks import GapMarks, gap_headline, gap_marks
from geoapp.analysis.reports import EMBEDDED_SOURCES, GapList
from geoapp.i18n import label_map, t, whole_area
from geoapp.policy import COMPARISON_TABLE, Policy
from geoapp.provenance import source_text
from geoapp.schema import SourceInfo

__all__ = [
    "TOP_GAPS",
    "Bar",
    "BriefContent",
    "MapMarks",
    "Table",
    "brief_content",
]

#: Rows of the gap table on page 2.
TOP_GAPS = 10
#: Units named beside the map's legend, per rule (most unemployed people first).
LEGEND_NAMES = 12


@dataclass(frozen=True)
class MapMarks:
    """The units of one level marked on the map (failing a mandatory rule), and their legend."""

    level: str  # "county" or "prefecture": hatched or dotted
    units: tuple[tuple[str, str], ...]  # (adcode, name), most unemployed people first
    legend: str
    names: str  # the units by name (the first :data:`LEGEND_NAMES`)


@dataclass(frozen=True)
class Bar:
    """One region-wide facility target: the share reached and the words on its bar."""

    facility_type: str
    label: str
    share: float
    text: str
    met: bool


@dataclass(frozen=True)
class Table:
    """Header and rows of text; ``numeric`` marks the right-aligned columns."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class BriefContent:
    """Every text of the two pages, in one language. ``footer`` has ``{page}``."""

    lang: str
    title: str
    context: tuple[str, ...]
    demo_note: str | None
    summary: str
    people_line: str
    map_heading: str
    map_marks: tuple[MapMarks, ...]
    prefecture_labels: tuple[tuple[str, str], ...]
    legend_other: str
    legend_border: str
    map_note: str
    progress_heading: str
    bars: tuple[Bar, ...]
    progress_axis: str
    target_label: str
    progress_note: str
    people_heading: str
    people: Table | None
    gaps_heading: str  # with {shown}, as gaps_note
    gaps: Table
    gaps_note: str  # with {shown}
    data_heading: str
    data_lines: tuple[tuple[str, str], ...]
    footer: str

    def headings(self) -> tuple[str, ...]:
        """The title and the section headings (what a reader scans first)."""
        return (
            self.title,
            self.map_heading,
            self.progress_heading,
            self.people_heading,
            self.gaps_heading,
            self.data_heading,
        )

    def text(self) -> str:
        """Every character the pages may show (for the font subset)."""
        parts: list[str] = []

        def walk(value: object) -> None:
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, tuple):
                for item in value:
                    walk(item)

        walk(astuple(self))
        return "\n".join(parts)


# --- page 1: the sentence above the map, the marks on it ----------------------------------


def _people_line(gaps: GapList, lang: str) -> str:
    people = gaps.result.table["unemployed_disabled"]
    if people.isna().all():
        value = t("metric.unknown", lang)
    else:
        n = gaps.summary()["people_behind_mandatory"]
        value = t("brief.people_count", lang).format(n=f"{n:,}")
    demo = t("progress.demo_suffix", lang) if gaps.demo else ""
    return t("brief.people_line", lang).format(
        label=t("gaps.metric_people", lang), n=value, demo=demo
    )


def _map_marks(result: GapResult, marks: GapMarks, lang: str) -> tuple[MapMarks, ...]:
    """Counties and prefectures failing a mandatory rule (:func:`gap_marks`), one legend
    row per level that has a mandatory rule."""
    table = result.table
    mandatory = table[table["strength"] == "mandatory"]
    failing = result.gaps_only().drop_duplicates("adcode")  # rank order: most people first
    out = []
    for level, codes, key in (
        ("county", marks.counties, "marks.legend_county"),
        ("prefecture", marks.prefectures, "marks.legend_prefecture"),
    ):
        is_prefecture = mandatory["unit_kind"] == "prefecture"
        if not (is_prefecture if level == "prefecture" else ~is_prefecture).any():
            continue  # no mandatory rule at this level: nothing to say
        rows = failing[failing["adcode"].isin(codes)]
        names = rows["city"] if level == "prefecture" else rows["county"]
        units = tuple(zip(rows["adcode"].astype(str), names.astype(str), strict=True))
        legend = t(key, lang).format(n=f"{len(units):,}")
        out.append(MapMarks(level, units, legend, _names(units, lang)))
    return tuple(out)


def _names(units: tuple[tuple[str, str], ...], lang: str) -> str:
    names = t("brief.list_sep", lang).join(name for _, name in units[:LEGEND_NAMES])
    if len(units) > LEGEND_NAMES:
        names += t("brief.and_more", lang).format(n=f"{len(units) - LEGEND_NAMES:,}")
    return names


# --- page 2: progress, people targets, top gaps ----------------------------------------


def _bars(result: GapResult, lang: str) -> tuple[Bar, ...]:
    labels = label_map("facility_type", lang)
    rows = result.progress[result.progress["kind"] == "facility"]
    bars = []
    for r in rows.itertuples(index=False):
        text = t("progress.bar_text", lang).format(
            actual=f"{int(r.actual):,}",
            sign=COMPARISON_TABLE[r.comparison].sign,
            target=f"{int(r.target):,}",
            pct=f"{float(r.progress):.0%}",
        )
        met = bool(r.met)
        if met:
            text += t("brief.met_suffix", lang)
        bars.append(Bar(r.facility_type, labels[r.facility_type], float(r.progress), text, met))
    return tuple(bars)


def _people_table(result: GapResult, lang: str) -> Table | None:
    people = result.progress[result.progress["kind"] == "people"]
    if people.empty:
        return None
    rows = []
    for r in people.itertuples(index=False):
        label = r.facility_type if lang == "zh" else _t_or(f"people_target.{r.rule_id}", lang)
        unit = _t_or(f"unit.{r.unit}", lang) if r.unit else ""
        target = f"{COMPARISON_TABLE[r.comparison].sign}{int(r.target):,} {unit}".strip()
        rows.append((label or r.facility_type, target))
    columns = (t("progress.people", lang), t("brief.col_target", lang))
    return Table(columns, tuple(rows), (False, True))


def _t_or(key: str, lang: str) -> str:
    try:
        return t(key, lang)
    except KeyError:
        return ""


def _gap_table(gaps: GapList, lang: str) -> Table:
    """The first :data:`TOP_GAPS` rows of the gap list, in its rank order."""
    rows = gaps.rows.head(TOP_GAPS)
    labels = label_map("facility_type", lang)
    whole = t("brief.whole_prefecture", lang)
    people = rows["unemployed_disabled"].astype("Float64")
    body = tuple(
        zip(
            rows["rank"].map(lambda v: f"{int(v):,}"),
            rows["city"].astype(str),
            rows["county"].astype(str).replace("", whole),
            rows["facility_type"].map(labels),
            rows["strength"].map(lambda s: t(f"strength_short.{s}", lang)),
            rows["shortfall"].map(lambda v: f"{int(v):,}"),
            people.map(lambda v: "—" if pd.isna(v) else f"{int(v):,}"),
            strict=True,
        )
    )
    people_header = t("col.unemployed_disabled", lang)
    if gaps.demo:
        people_header += t("progress.demo_suffix", lang)
    columns = (
        *(t(f"col.{c}", lang) for c in ("rank", "city", "county", "facility_type", "strength")),
        t("col.shortfall", lang),
        people_header,
    )
    return Table(columns, body, (True, False, False, False, False, True, True))


def _gaps_note(gaps: GapList, lang: str) -> str:
    summary = gaps.summary()
    if not len(gaps.rows):
        return t("gaps.empty", lang)
    return t("brief.gaps_total", lang).format(
        total=f"{summary['gaps']:,}",
        mandatory=f"{summary['mandatory_gaps']:,}",
        aspirational=f"{summary['aspirational_gaps']:,}",
        shown="{shown}",  # the rows the page has room for (all of them, in practice)
        sort=t("meta.sort_note", lang),
    )


# --- provenance ------------------------------------------------------------------------


def _demo_note(gaps: GapList, lang: str) -> str | None:
    """Say plainly which data are demo data (None for real data only)."""
    facilities = gaps.sources[0] == EMBEDDED_SOURCES[("facilities", True)]
    unemployed = gaps.sources[1] == EMBEDDED_SOURCES[("unemployed", True)]
    if facilities and unemployed:
        return t("demo.banner", lang)
    if facilities:
        return t("brief.demo_facilities", lang)
    if unemployed:
        return t("brief.demo_unemployed", lang)
    return None


def _status(gaps: GapList, lang: str) -> str:
    """Demo data, registered data, or none yet (a region built without data)."""
    result = gaps.result
    empty = (
        result.table["unemployed_disabled"].isna().all()
        and result.table["actual"].sum() == 0
        and result.progress["actual"].fillna(0).sum() == 0
    )
    if empty and not gaps.demo:
        return t("brief.status_empty", lang)
    return t("meta.demo" if gaps.demo else "meta.real", lang)


def _data_lines(
    gaps: GapList, policy: Policy, generated: str, lang: str
) -> tuple[tuple[str, str], ...]:
    prov = gaps.result.provenance()
    sources = t("brief.list_sep", lang).join(source_text(s, lang) for s in gaps.sources)
    return (
        (
            t("meta.policy", lang),
            t("brief.policy_value", lang).format(
                policy=policy.title_in(lang),
                document=policy.document or t("policy.no_document", lang),
            ),
        ),
        (t("meta.reading", lang), prov[f"reading_{lang}"]),
        (t("meta.as_of", lang), gaps.as_of),
        (t("meta.data_status", lang), _status(gaps, lang)),
        (t("brief.sources", lang), sources),
        (t("meta.generated_at", lang), generated),
        (t("brief.full_list", lang), t("brief.full_list_where", lang)),
    )


def brief_content(
    gaps: GapList,
    *,
    policy: Policy,
    info: SourceInfo,
    prefectures: pd.DataFrame,
    lang: str,
    generated_at: datetime | None = None,
) -> BriefContent:
    """Every text of the brief for ``gaps`` (a whole-region gap list of ``policy``).

    ``prefectures`` (``adcode, name``) label the map; ``info`` names the region.
    """
    result = gaps.result
    marks = gap_marks(result, "mandatory")
    generated = (generated_at or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    region = t("brief.region_name", lang).format(name=info.region_name, adcode=info.region_adcode)
    status = _status(gaps, lang)
    year = policy.period_end
    bars = _bars(result, lang)
    return BriefContent(
        lang=lang,
        title=t("brief.title", lang).format(region=info.region_name),
        context=(
            t("brief.region_line", lang).format(region=region, as_of=gaps.as_of, status=status),
            t("brief.policy_line", lang).format(
                policy=policy.title_in(lang),
                document=policy.document or t("policy.no_document", lang),
                reading=result.provenance()[f"reading_{lang}"],
            ),
        ),
        demo_note=_demo_note(gaps, lang),
        # the overview's headline, word for word
        summary=gap_headline(marks, scope=info.region_name, lang=lang),
        people_line=_people_line(gaps, lang),
        map_heading=t("brief.map_heading", lang),
        map_marks=_map_marks(result, marks, lang),
        prefecture_labels=tuple(
            zip(prefectures["adcode"].astype(str), prefectures["name"].astype(str), strict=True)
        ),
        legend_other=t("brief.legend_other", lang),
        legend_border=t("brief.legend_border", lang),
        map_note=t("map.caption", lang),
        progress_heading=t("brief.progress_heading", lang).format(year=year),
        bars=bars,
        progress_axis=t("progress.targets_axis", lang),
        target_label=t("progress.target_line", lang),
        progress_note=t("progress.about_note" if bars else "progress.no_targets", lang).format(
            whole=whole_area(policy.region_name, lang)
        ),
        people_heading=t("brief.people_heading", lang).format(year=year),
        people=_people_table(result, lang),
        gaps_heading=t("brief.gaps_heading", lang).format(n="{shown}"),
        gaps=_gap_table(gaps, lang),
        gaps_note=_gaps_note(gaps, lang),
        data_heading=t("brief.data_heading", lang),
        data_lines=_data_lines(gaps, policy, generated, lang),
        footer=t("brief.footer", lang).format(
            region=region, as_of=gaps.as_of, status=status, page="{page}", pages=2
        ),
    )
