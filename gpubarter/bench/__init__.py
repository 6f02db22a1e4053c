"""Benchmarks: ``gpubarter bench <suite>``.

A suite returns :class:`Measurement` rows. Each row carries its value, the
baseline measured in the same run (so numbers from different machines compare as
ratios) and the budget it is held to. Suites register in :data:`SUITES`.
"""

from __future__ import annotations

import importlib
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


#: suite name -> "module:function" returning list[Measurement]
SUITES: dict[str, str] = {
    "toolchain": "gpubarter.bench.toolchain:run",
}


def load_suite(name: str) -> Callable[..., list[Measurement]]:
    module, func = SUITES[name].split(":")
    return getattr(importlib.import_module(module), func)
