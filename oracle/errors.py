"""Errors of the metering oracle; all derive from :class:`gpubarter.errors.GpuBarterError`."""

from __future__ import annotations

from gpubarter.errors import GpuBarterError


class OracleError(GpuBarterError):
    """Root of the oracle's errors."""


class BackendUnavailable(OracleError):
    """No GPU backend could be opened (NVML missing and no simulation allowed)."""


class StoreError(OracleError):
    """The meter's database refused a request (bad state transition, unknown id)."""


class JobError(OracleError):
    """A job id, process or command given to the meter is invalid."""


class ReportSchemaError(OracleError):
    """The Solidity definition of the usage report could not be read."""
