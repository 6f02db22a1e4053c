"""Routers of the indexed resources, one per area."""

from __future__ import annotations

from backend.api.resources import (
    balances,
    classes,
    cooperatives,
    datasets,
    deals,
    jobs,
    providers,
    series,
    usage,
)

ROUTERS = tuple(m.router for m in (providers, classes, series, balances, jobs, usage, datasets, cooperatives,
                                   deals))
