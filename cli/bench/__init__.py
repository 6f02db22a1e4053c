"""Benchmarks: ``gpubarter bench <suite>``.

A suite returns :class:`Measurement` rows. Each row carries its value, the
baseline measured in the same run (so numbers from different machines compare as
ratios) and the budget it is held to. Suites register in :data:`SUITES`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    budget: str = ""
    ok: bool | None = None  # None: no budget applies

    @property
    def ratio(self) -> float | None:
        if not self.baseline_value:
            return None
        return self.value / self.baseline_value

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "ratio": self.ratio}


def suites() -> list[str]:
    """Every suite: each public module of this package is one, with ``run() -> list[Measurement]``."""
    import cli.bench as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def load_suite(name: str) -> Callable[[], list[Measurement]]:
    return importlib.import_module(f"cli.bench.{name}").run  # type: ignore[no-any-return]
