"""Attribution: turn GPU readings into per-job, per-GPU counter increments.

A job owns exactly the processes the meter launched for it (and their descendants)
or registered for it; :class:`JobProcesses` carries that set. A process that is not
the job's never counts, however busy the GPU is.

Per tick and GPU, for each job with at least one process resident on the GPU:

- **allocated GPU-ms** += the tick's duration;
- **SM-active GPU-ms** += duration x the job's SM utilisation, the sum over its
  processes of the mean ``smUtil`` of their NVML samples in the tick (capped at
  100 %). Where the driver gives no per-process samples, the device's utilisation is
  used only if every resident process is the job's; on a shared GPU the job then gets
  no SM time and the reading is marked degraded;
- **energy mJ** += the GPU's energy-counter increase x the job's *share of SM
  activity* among all resident processes (energy is per GPU, never per process, so it
  is apportioned; if nothing was active it is split by resident process count).
  The idle energy of a GPU without job processes is attributed to nobody;
- **samples** += 1.

Integer division rounds down: a provider is never credited a fraction of a
millisecond it did not deliver. The first reading of a GPU (and the first after the
GPU was lost or the counter went backwards) only sets the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oracle.gpu import GpuReading

JobId = int


@dataclass(frozen=True)
class JobProcesses:
    job_id: JobId
    pids: frozenset[int]


@dataclass
class Increment:
    job_id: JobId
    gpu_uuid: str
    gpu_model: str
    allocated_ms: int = 0
    sm_active_ms: int = 0
    energy_mj: int = 0
    samples: int = 0


@dataclass
class _Baseline:
    tick_ns: int
    energy_mj: int | None
    carry_ns: int = 0


@dataclass
class Attributor:
    """Keeps each GPU's baseline between ticks (in memory: a restart starts afresh)."""

    baselines: dict[str, _Baseline] = field(default_factory=dict)
    #: GPU uuid -> why its last reading could not be attributed in full.
    degraded: dict[str, str] = field(default_factory=dict)

    def tick(self, now_ns: int, reading: GpuReading, jobs: list[JobProcesses]) -> list[Increment]:
        uuid = reading.gpu.uuid
        base = self.baselines.get(uuid)
        if reading.lost:
            self.baselines.pop(uuid, None)
            self.degraded[uuid] = "GPU lost; baseline reset"
            return []
        if base is None or now_ns <= base.tick_ns:
            self.baselines[uuid] = _Baseline(now_ns, reading.energy_mj)
            return []
        elapsed = now_ns - base.tick_ns + base.carry_ns
        dt_ms, carry = divmod(elapsed, 1_000_000)
        energy_delta = 0
        if reading.energy_mj is not None and base.energy_mj is not None:
            energy_delta = max(0, reading.energy_mj - base.energy_mj)  # a reset counter adds 0
        self.baselines[uuid] = _Baseline(now_ns, reading.energy_mj, carry)

        notes: list[str] = [f"{k}: {v}" for k, v in sorted(reading.degraded.items())]
        present = self.present(reading)
        sm = self._sm_by_pid(reading, present, jobs, notes)
        total_sm = sum(sm.values())
        out = []
        for job in jobs:
            mine = present & job.pids
            if not mine:
                continue
            job_sm = sum(sm.get(p, 0.0) for p in mine)
            if total_sm > 0:
                share_num, share_den = job_sm, total_sm
            else:
                share_num, share_den = len(mine), len(present)
            out.append(
                Increment(
                    job.job_id,
                    uuid,
                    reading.gpu.name,
                    allocated_ms=dt_ms,
                    sm_active_ms=int(dt_ms * min(100.0, job_sm) // 100),
                    energy_mj=int(energy_delta * share_num // share_den) if share_den else 0,
                    samples=1,
                )
            )
        if notes:
            self.degraded[uuid] = "; ".join(notes)
        else:
            self.degraded.pop(uuid, None)
        return out

    @staticmethod
    def present(reading: GpuReading) -> set[int]:
        if reading.processes is not None:
            return set(reading.processes)
        # No process list: a process with a fresh utilisation sample is resident.
        return {s.pid for s in reading.samples or []}

    @staticmethod
    def _sm_by_pid(
        reading: GpuReading, present: set[int], jobs: list[JobProcesses], notes: list[str]
    ) -> dict[int, float]:
        if reading.samples is not None:
            sums: dict[int, list[int]] = {}
            for s in reading.samples:
                if s.pid in present:
                    sums.setdefault(s.pid, []).append(s.sm_util_pct)
            return {pid: sum(v) / len(v) for pid, v in sums.items()}
        owner = [j for j in jobs if present and present <= j.pids]
        if owner and reading.util_gpu_pct is not None:
            notes.append("SM time from device utilisation (one job owns the GPU)")
            share = reading.util_gpu_pct / len(present)
            return dict.fromkeys(present, share)
        if any(present & j.pids for j in jobs):
            notes.append("no per-process samples on a shared GPU: SM time not attributed")
        return {}
