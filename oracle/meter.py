"""The meter: sample every GPU, attribute to jobs, persist; build and sign report batches.

One :meth:`Meter.sample` reads each GPU once, attributes the readings to the jobs'
processes and adds the increments to the store in one transaction. One
:meth:`Meter.report` turns every counter that grew into a cumulative usage report,
signs the reports in batches and persists each batch (state ``signed``) before
anything could submit it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from oracle import reports as rep
from oracle.attribution import Attributor, Increment, JobProcesses
from oracle.gpu import GpuBackend
from oracle.jobs import ProcessTracker
from oracle.meter_store import MeterStore
from oracle.metrics import MeterMetrics
from oracle.simulated import SimulatedBackend


@dataclass
class Signer:
    """The node's key and the EIP-712 domain its reports are bound to."""

    account: LocalAccount
    chain_id: int
    verifying_contract: str
    domain: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.domain = rep.domain(self.chain_id, self.verifying_contract)

    def __repr__(self) -> str:  # never show the key
        return f"Signer({self.account.address}, chain {self.chain_id}, {self.verifying_contract})"


class Meter:
    def __init__(
        self,
        backend: GpuBackend,
        store: MeterStore,
        signer: Signer | None,
        *,
        sim_sm_pct: int = 80,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        wall: Callable[[], float] = time.time,
        metrics: MeterMetrics | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.backend, self.store, self.signer = backend, store, signer
        self.sim_sm_pct = sim_sm_pct
        self.clock_ns, self.wall = clock_ns, wall
        self.metrics = metrics
        self.log = log or logging.getLogger("gpubarter.oracle")
        self.tracker = ProcessTracker(store)
        self.attributor = Attributor()
        self._last_sample_us: dict[int, int] = {}
        self._degraded_seen: dict[str, str] = {}
        self.samples_taken = 0
        self._sim_placed: set[int] = set()

    def sample(self) -> list[Increment]:
        jobs = self.tracker.refresh()
        if isinstance(self.backend, SimulatedBackend):
            self._place_simulated(jobs)
        pids = frozenset().union(*(j.pids for j in jobs)) if jobs else frozenset()
        now_ns = self.clock_ns()
        readings = []
        for gpu in self.backend.gpus():
            reading = self.backend.read(gpu.index, self._last_sample_us.get(gpu.index, 0), pids)
            self._last_sample_us[gpu.index] = reading.last_sample_us
            readings.append(reading)
        resident = set().union(*(Attributor.present(r) for r in readings)) if readings else set()
        jobs = self.tracker.claim(resident, jobs)
        increments: list[Increment] = []
        for reading in readings:
            increments.extend(self.attributor.tick(now_ns, reading, jobs))
            self._note_degraded(reading.gpu.uuid)
            if self.metrics:
                self.metrics.observe_reading(reading)
        self.store.apply(increments)
        self.samples_taken += 1
        if self.metrics:
            for inc in increments:
                self.metrics.observe_increment(inc)
            self.metrics.forget_jobs({j.job_id for j in jobs})
        return increments

    def _note_degraded(self, uuid: str) -> None:
        why = self.attributor.degraded.get(uuid)
        if why != self._degraded_seen.get(uuid):
            if why:
                self.log.warning("gpu reading degraded", extra={"gpu_uuid": uuid, "why": why})
            else:
                self.log.info("gpu reading recovered", extra={"gpu_uuid": uuid})
            self._degraded_seen[uuid] = why or ""

    def _place_simulated(self, jobs: list[JobProcesses]) -> None:
        """Run the jobs' live processes on their pinned simulated GPUs; drop dead ones."""
        backend = self.backend
        assert isinstance(backend, SimulatedBackend)
        pinned = {j.job_id: j.gpus for j in self.store.jobs(active_only=True)}
        live = set()
        for job in jobs:
            for pid in job.pids:
                live.add(pid)
                if pid not in self._sim_placed:
                    self._sim_placed.add(pid)
                    for gpu in pinned.get(job.job_id) or (0,):
                        if gpu < len(backend.gpus()):
                            backend.place(pid, gpu, self.sim_sm_pct)
        for pid in self._sim_placed - live:  # only what the meter placed itself
            backend.remove(pid)
            self._sim_placed.discard(pid)

    def report(self) -> list[int]:
        """Sign and persist a batch per ``MAX_BATCH`` grown counters; returns batch ids."""
        if self.signer is None:
            return []
        counters = self.store.counters(unreported_only=True)
        if not counters:
            return []
        period_end = int(self.wall())
        reports = [
            rep.UsageReport(
                c.job_id,
                c.gpu_uuid,
                c.gpu_model,
                c.allocated_ms,
                c.sm_active_ms,
                c.energy_mj,
                c.samples,
                period_end,
            )
            for c in counters
        ]
        ids = []
        for start in range(0, len(reports), rep.MAX_BATCH):
            chunk = reports[start : start + rep.MAX_BATCH]
            digest = rep.batch_digest(self.signer.domain, chunk)
            signature = rep.sign_batch(self.signer.account, self.signer.domain, chunk)
            batch_id = self.store.add_batch(
                chain_id=self.signer.chain_id,
                verifying_contract=self.signer.domain["verifyingContract"],
                digest=digest,
                signer=self.signer.account.address,
                signature=signature,
                simulated=self.backend.simulated,
                reports=chunk,
            )
            ids.append(batch_id)
            self.log.info(
                "batch signed",
                extra={"batch": batch_id, "reports": len(chunk), "digest": "0x" + digest.hex()},
            )
        if self.metrics:
            self.metrics.observe_queue(self.store.queue_counts())
        return ids
