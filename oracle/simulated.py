"""The simulated GPU backend: same interface as NVML, deterministic, always labelled.

It serves machines without an NVIDIA GPU (tests, the demo, the bench). Everything it
reports is a function of a clock the caller controls and of the processes placed on
its GPUs with :meth:`SimulatedBackend.place`; nothing is random. Each GPU's name ends
in ``(simulated)`` and its UUID starts with ``GPU-simulated-`` so a simulated reading
can never pass for a real one.

Model: a placed process runs at a fixed SM utilisation; a GPU's SM utilisation is the
sum over its processes (capped at 100 %); power is ``idle_w + (busy_w - idle_w) x
utilisation``; the energy counter integrates that power exactly between readings.
Per-process samples are emitted every ``sample_period_s`` like the driver's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from oracle.errors import JobError
from oracle.gpu import AccountingStats, GpuIdentity, GpuReading, ProcessSample

SIMULATED = "simulated"
DEFAULT_MODEL = "NVIDIA H100 80GB HBM3"


@dataclass
class _Proc:
    sm_pct: int
    mem_bytes: int
    since: float


@dataclass
class _Gpu:
    ident: GpuIdentity
    procs: dict[int, _Proc] = field(default_factory=dict)
    energy_mj: float = 0.0
    at: float = 0.0


class SimulatedBackend:
    kind = SIMULATED

    def __init__(
        self,
        count: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        model: str = DEFAULT_MODEL,
        idle_w: float = 60.0,
        busy_w: float = 700.0,
        sample_period_s: float = 0.2,
    ) -> None:
        if not 1 <= count <= 64:
            raise JobError(f"a simulated machine has 1 to 64 GPUs, not {count}")
        self._clock = clock
        self.idle_w, self.busy_w, self.sample_period_s = idle_w, busy_w, sample_period_s
        now = clock()
        self._gpus = [
            _Gpu(
                GpuIdentity(
                    i, f"{model} ({SIMULATED})", f"GPU-{SIMULATED}-{i:04d}-0000-0000-000000000000"
                ),
                at=now,
            )
            for i in range(count)
        ]
        self.notes: dict[str, str] = {"backend": "simulated GPUs: no NVIDIA driver is read"}

    @property
    def simulated(self) -> bool:
        return True

    def driver(self) -> str:
        return f"none ({SIMULATED})"

    def gpus(self) -> list[GpuIdentity]:
        return [g.ident for g in self._gpus]

    def close(self) -> None:
        pass

    # -- the workload ------------------------------------------------------------------------

    def place(self, pid: int, gpu: int, sm_pct: int = 100, mem_bytes: int = 1 << 30) -> None:
        """Run process ``pid`` on simulated GPU ``gpu`` at ``sm_pct`` SM utilisation."""
        if not 0 <= gpu < len(self._gpus):
            raise JobError(
                f"simulated GPU {gpu} does not exist (this machine has {len(self._gpus)})"
            )
        if not 0 <= sm_pct <= 100:
            raise JobError(f"SM utilisation must be 0..100 %, not {sm_pct}")
        g = self._advance(gpu)
        g.procs[pid] = _Proc(sm_pct, mem_bytes, g.at)

    def remove(self, pid: int) -> None:
        for i, g in enumerate(self._gpus):
            if pid in g.procs:
                self._advance(i)
                del g.procs[pid]

    def placed(self) -> dict[int, set[int]]:
        """pid -> the simulated GPUs it runs on."""
        out: dict[int, set[int]] = {}
        for i, g in enumerate(self._gpus):
            for pid in g.procs:
                out.setdefault(pid, set()).add(i)
        return out

    # -- readings ----------------------------------------------------------------------------

    def _util(self, g: _Gpu) -> int:
        return min(100, sum(p.sm_pct for p in g.procs.values()))

    def _advance(self, index: int) -> _Gpu:
        g = self._gpus[index]
        now = self._clock()
        if now > g.at:
            watts = self.idle_w + (self.busy_w - self.idle_w) * self._util(g) / 100
            g.energy_mj += watts * (now - g.at) * 1000.0
            g.at = now
        return g

    def read(
        self, index: int, last_sample_us: int, pids: frozenset[int] = frozenset()
    ) -> GpuReading:
        g = self._advance(index)
        now_us = round(g.at * 1e6)
        period_us = int(self.sample_period_s * 1e6)
        samples: list[ProcessSample] = []
        for pid, p in sorted(g.procs.items()):
            since_us = round(p.since * 1e6)
            first = max(last_sample_us, since_us) // period_us + 1
            samples.extend(
                ProcessSample(pid, k * period_us, p.sm_pct, 10)
                for k in range(first, now_us // period_us + 1)
            )
        last = max([last_sample_us, *(s.timestamp_us for s in samples)])
        acct = {
            pid: AccountingStats(
                pid, p.sm_pct, int((g.at - p.since) * 1000), int(p.since * 1e6), True
            )
            for pid, p in g.procs.items()
            if pid in pids
        }
        util = self._util(g)
        return GpuReading(
            gpu=g.ident,
            energy_mj=int(g.energy_mj),
            util_gpu_pct=util,
            util_mem_pct=10 if util else 0,
            processes={pid: p.mem_bytes for pid, p in g.procs.items()},
            samples=samples,
            last_sample_us=last,
            accounting=acct,
        )
