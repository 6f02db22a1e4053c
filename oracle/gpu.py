"""What the meter reads from a GPU, independent of where it comes from.

Two backends produce these readings: :mod:`oracle.nvml` (the real driver through
pynvml) and :mod:`oracle.simulated` (a deterministic stand-in, always labelled
``simulated``). A reading that a GPU could not give is ``None`` and the reason is in
``degraded`` (function name -> why); the meter never crashes on a missing reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class GpuIdentity:
    index: int
    name: str
    uuid: str


@dataclass(frozen=True)
class ProcessSample:
    """One NVML per-process utilisation sample (``smUtil`` in percent)."""

    pid: int
    timestamp_us: int
    sm_util_pct: int
    mem_util_pct: int = 0


@dataclass(frozen=True)
class AccountingStats:
    pid: int
    gpu_util_pct: int
    time_ms: int
    start_time_us: int
    running: bool


@dataclass
class GpuReading:
    """Everything the meter learned about one GPU in one sample."""

    gpu: GpuIdentity
    energy_mj: int | None = None
    util_gpu_pct: int | None = None
    util_mem_pct: int | None = None
    #: pid -> used GPU memory in bytes (None where the driver hides it).
    processes: dict[int, int | None] | None = None
    #: per-process samples newer than the last timestamp asked for.
    samples: list[ProcessSample] | None = None
    #: the newest sample timestamp seen (pass it back next time).
    last_sample_us: int = 0
    accounting: dict[int, AccountingStats] | None = None
    #: NVML function -> why the reading is missing (e.g. "NotSupported").
    degraded: dict[str, str] = field(default_factory=dict)
    lost: bool = False


class GpuBackend(Protocol):
    """The interface both backends implement."""

    #: "nvml" or "simulated".
    kind: str

    @property
    def simulated(self) -> bool: ...

    def gpus(self) -> list[GpuIdentity]: ...

    def read(
        self, index: int, last_sample_us: int, pids: frozenset[int] = frozenset()
    ) -> GpuReading:
        """Read GPU ``index``; ``pids`` are the processes to ask accounting stats for."""
        ...

    def driver(self) -> str: ...

    def close(self) -> None: ...
