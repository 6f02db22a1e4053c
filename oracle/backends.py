"""Choosing a GPU backend: ``nvml``, ``simulated`` or ``auto``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from oracle.errors import BackendUnavailable, JobError
from oracle.gpu import GpuBackend
from oracle.nvml import NvmlBackend
from oracle.simulated import SimulatedBackend

CHOICES = ("nvml", "simulated", "auto")


def open_backend(
    kind: str,
    *,
    sim_gpus: int = 1,
    clock: Callable[[], float] = time.monotonic,
    log: logging.Logger | None = None,
) -> GpuBackend:
    """``auto`` uses NVML if it initialises and finds a GPU, else simulated GPUs, loudly."""
    if kind not in CHOICES:
        raise JobError(f"--backend must be one of {', '.join(CHOICES)}, not {kind!r}")
    if kind == "simulated":
        return SimulatedBackend(sim_gpus, clock=clock)
    try:
        nvml = NvmlBackend().open()
        if not nvml.gpus():
            nvml.close()
            raise BackendUnavailable(
                f"NVML initialised but found no usable GPU ({nvml.notes or 'none'})"
            )
        return nvml
    except BackendUnavailable as exc:
        if kind == "nvml":
            raise
        notice = (
            f"NO GPU READ: NVML is unavailable ({exc}); falling back to {sim_gpus} "
            "SIMULATED GPU(s). Every reading and report from this meter is simulated."
        )
        (log or logging.getLogger("gpubarter.oracle")).warning(
            notice, extra={"backend": "simulated", "simulated": True, "fallback": True}
        )
        backend = SimulatedBackend(sim_gpus, clock=clock)
        backend.notes["fallback"] = str(exc)
        return backend
