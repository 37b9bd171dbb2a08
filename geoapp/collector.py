"""Python's cycle collector paused around work that builds many objects and no cycles.

A command's rows, a sheet's cells, a reloaded index: each collection pass walks all of
them again while they are being made, for nothing. :func:`collector_paused` switches the
collector off for the block and back on afterwards if it was on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """The cycle collector off during the block (when ``pause``), then as it was.

    >>> with collector_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
