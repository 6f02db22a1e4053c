"""Errors of the valuation engine; all are :class:`~gpubarter.errors.GpuBarterError`s."""

from __future__ import annotations

from gpubarter.errors import GpuBarterError


class ValuationError(GpuBarterError):
    """An appraisal could not be made."""


class DatasetReadError(ValuationError):
    """The dataset file is missing, empty, of an unknown format or unreadable."""


class InputsError(ValuationError):
    """The appraisal inputs (inputs.json, options) are invalid or inconsistent."""
