"""The demo files: CSV text, the generated README, and writing them into data/demo."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoapp.demo.constants import (
    _NON_DISTRICT,
    AS_OF,
    AUX_GAP_ADCODES,
    EMPTY_DISTRICTS,
    FACILITY_TYPES,
    INCUBATION_GAP_PREFECTURE,
    MULTIPLIER_RANGE,
    PREVALENCE,
    TARGETS_2027,
    UNEMPLOYED_SHARE,
    WORKING_AGE_SHARE,
)
from geoapp.demo.facilities_gen import make_facilities
from geoapp.demo.inputs import load_population
from geoapp.demo.unemployed import make_unemployed
from geoapp.paths import DEMO_DIR
from geoapp.schema import FACILITY_COLUMNS, UNEMPLOYED_COLUMNS


# --------------------------------------------------------------------------- reports
def summary(facilities: pd.DataFrame) -> pd.DataFrame:
    """Counts per facility type: ``facility_type, real, demo, total, target_2027``."""
    counts = pd.crosstab(facilities["facility_type"], facilities["is_demo"].astype(bool)).reindex(
        index=list(FACILITY_TYPES), columns=[False, True], fill_value=0
    )
    out = pd.DataFrame(
        {
            "facility_type": list(FACILITY_TYPES),
            "real": counts[False].to_numpy(int),
            "demo": counts[True].to_numpy(int),
        }
    )
    out["total"] = out["real"] + out["demo"]
    out["target_2027"] = out["facility_type"].map(TARGETS_2027).astype("Int64")
    return out


def gap_report(facilities: pd.DataFrame, counties: pd.DataFrame) -> dict[str, list[str]]:
    """Units (``"name (adcode)"``) with no facility of a kind, for the README and tests."""
    have = facilities.groupby("facility_type")["adcode"].agg(set).to_dict()
    units = pd.DataFrame(counties.drop(columns="geometry", errors="ignore")).sort_values("adcode")
    label = [f"{n} ({a})" for n, a in zip(units["name"], units["adcode"], strict=True)]
    non_district = units["unit_kind"].isin(_NON_DISTRICT).to_numpy()

    def lacking(ftype: str, mask: np.ndarray) -> list[str]:
        present = have.get(ftype, set())
        return [
            lb
            for lb, a, m in zip(label, units["adcode"], mask, strict=True)
            if m and a not in present
        ]

    pref_have = set(facilities.loc[facilities["facility_type"] == "incubation_base", "prefecture"])
    prefs = units.drop_duplicates("prefecture")
    core = ("incubation_base", "rural_help_base", "auxiliary_institution", "beautiful_workshop")
    district_mask = ~non_district
    districts_missing = [
        lb
        for lb, a, m in zip(label, units["adcode"], district_mask, strict=True)
        if m and sum(a not in have.get(t, set()) for t in core) >= 3
    ]
    return {
        "non-district units without auxiliary_institution (mandatory)": lacking(
            "auxiliary_institution", non_district
        ),
        "prefectures without incubation_base (mandatory)": [
            p for p in prefs["prefecture"] if p not in pref_have
        ],
        "non-district units without rural_help_base (aspirational)": lacking(
            "rural_help_base", non_district
        ),
        "county-level units without incubation_base (aspirational)": lacking(
            "incubation_base", np.ones(len(units), bool)
        ),
        "districts lacking at least 3 of incubation/rural help/auxiliary/workshop": districts_missing,
    }


# ---------------------------------------------------------------------------- output
def facilities_csv(facilities: pd.DataFrame) -> str:
    """The CSV text of a facility frame (geometry dropped, lon/lat with 6 decimals)."""
    return pd.DataFrame(facilities)[list(FACILITY_COLUMNS)].to_csv(
        index=False, float_format="%.6f", lineterminator="\n"
    )


def unemployed_csv(unemployed: pd.DataFrame) -> str:
    """The CSV text of an unemployed-disabled frame."""
    return unemployed[list(UNEMPLOYED_COLUMNS)].to_csv(index=False, lineterminator="\n")


def _readme(
    region: str,
    seed: int,
    facilities: gpd.GeoDataFrame,
    counties: pd.DataFrame,
    unemployed: pd.DataFrame,
) -> str:
    table = summary(facilities)
    lines = [
        "# Demo data (generated, do not edit)",
        "",
        "**Demo data: not real, replace with registry data.** Every row with `is_demo=True` is",
        "invented; the only real records are the three schools named in 吉政办发〔2025〕16号",
        "二(三)7, whose location is approximate (city level only).",
        "",
        f"Made by `geoapp data demo` (`geoapp/demo/`) for region {region} with seed {seed};",
        "the same seed rewrites these files byte for byte. Coordinates are WGS84 (`datum=wgs84`),",
        "random points strictly inside the county polygon of `adcode`.",
        "",
        f"Data date: the demo registers pretend to describe the quarter ending {AS_OF}.",
        "",
        f"- `{region}_facilities.csv`: {len(facilities)} facilities",
        f"- `{region}_unemployed_disabled.csv`: {len(unemployed)} counties, "
        f"{int(unemployed['unemployed_disabled'].sum())} unemployed disabled people in total "
        "(estimate)",
        "",
        "## Facilities per type",
        "",
        "| facility_type | real | demo | total | 2027 target |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in table.itertuples(index=False):
        target = "" if pd.isna(r.target_2027) else str(int(r.target_2027))
        lines.append(f"| {r.facility_type} | {r.real} | {r.demo} | {r.total} | {target} |")
    lines += [
        "",
        "## Gap scenario",
        "",
        "Deliberate for every seed: no auxiliary_institution in "
        + ", ".join(f"{n} ({a})" for a, n in AUX_GAP_ADCODES.items())
        + f"; no incubation_base anywhere in {INCUBATION_GAP_PREFECTURE[1]} "
        f"({INCUBATION_GAP_PREFECTURE[0]}); only massage institutions in "
        + ", ".join(f"{n} ({a})" for a, n in EMPTY_DISTRICTS.items())
        + ". The other gaps below are drawn by the seed.",
        "",
    ]
    for title, units in gap_report(facilities, counties).items():
        lines.append(f"- {title} ({len(units)}): " + (", ".join(units) or "none"))
    lines += [
        "",
        "## Unemployed disabled people (demo estimate)",
        "",
        "There are no public per-county counts. Estimate per county: 2020 census population",
        f"x {PREVALENCE:.2%} disability prevalence (2006 2nd National Sample Survey on Disability)",
        f"x {WORKING_AGE_SHARE:.0%} working age x {UNEMPLOYED_SHARE:.0%} unemployed and registered",
        f"x a seeded multiplier in [{MULTIPLIER_RANGE[0]}, {MULTIPLIER_RANGE[1]}], rounded.",
        "The development-zone rows of the population table are not legal counties and are",
        "ignored (their residents live inside legal districts, which are underestimated here).",
        "",
    ]
    return "\n".join(lines)


def render_demo(*, region: str = "220000", seed: int = 2027) -> dict[str, str]:
    """File name -> text of every demo output (what :func:`write_demo` writes)."""
    population = load_population(region)  # raises ValueError for regions without one
    from geoapp.regions import read_layer

    counties = read_layer(region, "counties")
    facilities = make_facilities(counties, seed=seed, population=population)
    unemployed = make_unemployed(counties, population, seed=seed)
    return {
        f"{region}_facilities.csv": facilities_csv(facilities),
        f"{region}_unemployed_disabled.csv": unemployed_csv(unemployed),
        "README.md": _readme(region, seed, facilities, counties, unemployed),
    }


def write_demo(*, region: str = "220000", seed: int = 2027) -> list[Path]:
    """Write the demo files into ``data/demo`` and return their paths.

    Raises
    ------
    ValueError
        For a region without an embedded population table (only 220000 has one).
    """
    texts = render_demo(region=region, seed=seed)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = DEMO_DIR / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(text.encode("utf-8"))
        tmp.replace(path)
        paths.append(path)
    return paths
