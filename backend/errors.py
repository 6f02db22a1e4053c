"""Errors of the backend service (all are GpuBarterErrors)."""

from __future__ import annotations

from gpubarter.errors import GpuBarterError


class BackendError(GpuBarterError):
    """Root of backend errors."""


class ReorgTooDeep(BackendError):
    """The chain reorganised deeper than the indexer may rewind."""
