"""Small timing helpers for benchmark suites."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median_of(fn: Callable[[], object], repeat: int = 5) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


def run_seconds(cmd: Sequence[str], **kwargs: object) -> float:
    """Wall seconds of a subprocess that must succeed."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - t0
