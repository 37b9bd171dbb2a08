"""A writer process killed inside its transaction, as a power cut or the OOM killer would.

The harness of the atomicity tests on the GeoPackage file (``test_store.py``) and on
PostgreSQL (``test_store_postgis.py``): the writer is a ``python -c`` script that
writes a marker file once it is inside its transaction and then waits there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def start_writer(script: str, *args: object) -> subprocess.Popen:
    """``python -c script *args``; its output kept for the message of a failure."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(marker: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the writer has written ``marker``; a test failure if it exits first or takes
    longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"writer exited early: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("writer never reached its transaction")
        time.sleep(0.05)


@contextlib.contextmanager
def killed_at_the_end(proc: subprocess.Popen, marker: Path) -> Iterator[None]:
    """The block runs once ``proc`` has written ``marker`` (it is inside a transaction);
    then the writer is killed with SIGKILL, and must have died of it."""
    try:
        wait_for(marker, proc)
        yield
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        reap(proc)
    if proc.returncode != -signal.SIGKILL:
        pytest.fail(f"the writer was not killed inside its transaction: exit {proc.returncode}")


def reap(proc: subprocess.Popen) -> str:
    """Kill ``proc`` if it still runs and close its pipes; what it wrote to stderr (the
    end of it), for a message."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)
    err = proc.stderr.read().decode(errors="replace")[-2000:]
    proc.stdout.close()
    proc.stderr.close()
    return err
