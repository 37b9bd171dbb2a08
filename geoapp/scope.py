"""Which region a command or a page works on, and which policies apply to it.

A region is named by its adcode or its full name (``211100``, ``盘锦市``) among the
regions built under ``data/regions`` (:func:`find_region`). A policy names the region it
applies to (``region = {adcode, name}`` in its file); it can be held against the data
of a region when the two overlap: the same unit, or one inside the other
(:func:`check_policy_region`). The policies of a region are those that overlap it
(:func:`policies_for`), the embedded default policy first when it applies.

May import :mod:`geoapp.regions`, :mod:`geoapp.policy` and :mod:`geoapp.localised`;
nothing imports streamlit.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from geoapp import policy, regions
from geoapp.localised import Word
from geoapp.regions import RegionError

__all__ = [
    "PolicyRegionError",
    "RegionError",
    "check_policy_region",
    "default_policy",
    "find_region",
    "policies_for",
    "region_names",
    "within",
]


class PolicyRegionError(ValueError):
    """A policy about a region that does not overlap the region of the data."""


def region_names(*, directory: Path | None = None) -> dict[str, str]:
    """Built region adcode -> its name (``{"211100": "盘锦市", "220000": "吉林省"}``)."""
    names = {}
    for code in regions.built_regions(directory=directory):
        try:
            names[code] = regions.read_metadata(code, directory=directory).get("region_name", code)
        except (sqlite3.Error, OSError):  # a half-copied file must not hide the others
            names[code] = code
    return names


def find_region(value: object, *, directory: Path | None = None) -> str:
    """The adcode of the built region ``value`` names: its adcode or its full name.

    Raises
    ------
    RegionError
        When no built region has that code or name; the message lists the built ones
        and how to build another.

    Examples
    --------
    >>> find_region("220000"), find_region(" 吉林省 ")
    ('220000', '220000')
    """
    text = str(value).strip() if value is not None else ""
    names = region_names(directory=directory)
    if text in names:
        return text
    hits = [code for code, name in names.items() if name == text]
    if len(hits) == 1:
        return hits[0]
    shown = text if len(text) <= 40 else text[:40] + "…"
    built = [f"{c} {n}" for c, n in names.items()]
    msg = (
        f"{shown!r} is not a built region; built: {', '.join(built) or 'none'}. "
        f"Build another with: geoapp data boundaries --region <adcode or full name>"
    )
    none = Word("problem.word.none", "none")
    raise RegionError(msg, key="problem.region.not_built", value=shown, built=built or none)


def _prefix(adcode: str) -> str:
    """What every county code inside ``adcode`` starts with (``""`` for the country)."""
    if adcode == "100000":
        return ""
    if adcode.endswith("0000"):
        return adcode[:2]
    if adcode.endswith("00"):
        return adcode[:4]
    return adcode


def within(inner: str, outer: str) -> bool:
    """Whether region ``inner`` lies in region ``outer`` (or is it).

    >>> within("211100", "210000"), within("500116", "500000"), within("220000", "211100")
    (True, True, False)
    """
    return str(inner).startswith(_prefix(str(outer)))


def _overlap(a: str, b: str) -> bool:
    return within(a, b) or within(b, a)


def policies_for(region: str, *, directory: Path | None = None) -> list[str]:
    """The keys of the shipped policies that apply to ``region`` (overlap it): the
    default policy first when it is one of them, then the newest period first."""
    loaded = [
        policy.load_policy(k, directory=directory)
        for k in policy.list_policies(directory=directory)
    ]
    mine = [p for p in loaded if _overlap(p.region_adcode, region)]
    mine.sort(key=lambda p: (p.key != policy.DEFAULT_POLICY, -p.period_end, p.key))
    return [p.key for p in mine]


def default_policy(region: str, *, directory: Path | None = None) -> str | None:
    """The policy a region is measured against unless told otherwise (None: no policy
    names it)."""
    keys = policies_for(region, directory=directory)
    return keys[0] if keys else None


def check_policy_region(pol: policy.Policy, region: str, region_name: str) -> str | None:
    """Refuse a policy of another region; a note when the data cover only part of it.

    Returns None when the policy's region is the data's region or lies inside it, and
    a sentence when the data region lies inside the policy's (region-wide targets are
    then held against that part only).

    Raises
    ------
    PolicyRegionError
        When the two regions do not overlap; the message names both and the policies
        that do apply to the data's region.
    """
    if within(pol.region_adcode, region):
        return None
    if within(region, pol.region_adcode):
        return (
            f"policy {pol.key} is about {pol.region_adcode} {pol.region_name}; the data cover "
            f"only {region} {region_name}, so its region-wide targets are held against that part"
        )
    others = policies_for(region)
    advice = (
        f"policies of {region_name}: {', '.join(others)}"
        if others
        else f"no shipped policy names {region_name}; give --policy FILE.toml"
    )
    msg = (
        f"policy {pol.key} applies to {pol.region_adcode} {pol.region_name}, not to region "
        f"{region} {region_name}: give --region {pol.region_adcode}, or a policy of the "
        f"region ({advice})"
    )
    raise PolicyRegionError(msg)
