"""Rows a test submits to a store: shared by the submission and message tests."""

from __future__ import annotations

import pandas as pd

from geoapp.store import Store


def counts_of(store: Store, area: str, *, plus: int = 0) -> pd.DataFrame:
    """The area's current unemployed counts, each ``plus`` more: a submission's rows."""
    units = store.area_tree().units(area)
    frame = store.unemployed()
    frame = frame[frame["adcode"].isin(units)].reset_index(drop=True)
    return frame.assign(unemployed_disabled=frame["unemployed_disabled"] + plus)
