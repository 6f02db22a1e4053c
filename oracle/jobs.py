"""Which processes are a job's: launched by the meter, registered, or their descendants.

A process is identified by (pid, start time), so a pid the kernel reuses for an
unrelated process after the job's process died never counts for the job. Descendants
of a job's live processes are recorded in the store as they appear (the job's process
tree), and keep counting after their parent exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence

import psutil

from oracle.attribution import JobProcesses
from oracle.errors import JobError, StoreError
from oracle.meter_store import MeterStore

UINT256_MAX = 2**256 - 1
#: how often ``run-job`` records its command's process tree, seconds.
TREE_POLL_S = 0.5


def parse_job_id(text: str | int) -> int:
    """A job id as Jobs numbers them: a uint256 in decimal (or 0x hex)."""
    try:
        value = int(text, 0) if isinstance(text, str) else int(text)
    except ValueError:
        raise JobError(f"{text!r} is not a job id (a non-negative integer)") from None
    if not 0 <= value <= UINT256_MAX:
        raise JobError(f"job id {value} is out of range 0..2**256-1")
    return value


def parse_gpus(text: str, count: int | None = None) -> tuple[int, ...]:
    """``"0,2"`` -> (0, 2); refuses negatives, duplicates and indices beyond ``count``."""
    if not text.strip():
        return ()
    try:
        gpus = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise JobError(
            f"--gpus takes GPU indices separated by commas (e.g. 0,1), not {text!r}"
        ) from None
    if any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
        raise JobError(f"--gpus must list distinct non-negative indices, not {text!r}")
    if count is not None and any(g >= count for g in gpus):
        raise JobError(f"--gpus {text}: this machine has {count} GPU(s), indices 0..{count - 1}")
    return gpus


def start_time(pid: int) -> float:
    """The start time that tells this process apart from a later one with the same pid."""
    try:
        return round(psutil.Process(pid).create_time(), 2)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        raise JobError(f"process {pid} does not exist") from None
    except psutil.AccessDenied:
        raise JobError(f"process {pid} cannot be inspected (permission denied)") from None


class ProcessTracker:
    """Resolves each active job to its live processes, once per sample.

    Only processes resident on a GPU can matter, so descendants are found from the
    GPU side: a resident pid the meter does not know yet is walked up its ancestry;
    if an ancestor is one of a job's live processes, the pid is recorded as the job's
    child (and counted from then on, even after its parent exits). That costs a few
    /proc reads per new GPU process instead of a scan of every process each second.
    """

    #: how long a resident process found to be no job's is not looked at again.
    FOREIGN_TTL_S = 10.0
    MAX_DEPTH = 64

    def __init__(self, store: MeterStore) -> None:
        self.store = store
        self._owner: dict[tuple[int, float], int] = {}  # live job processes -> job id
        self._foreign: dict[int, float] = {}  # pid -> monotonic time it was found foreign

    def refresh(self) -> list[JobProcesses]:
        """The live processes recorded for each active job."""
        out = []
        owner: dict[tuple[int, float], int] = {}
        for job in self.store.jobs(active_only=True):
            live: set[int] = set()
            for pid, created, _source in job.processes:
                if self._alive(pid, created):
                    live.add(pid)
                    owner[(pid, created)] = job.job_id
            out.append(JobProcesses(job.job_id, frozenset(live)))
        self._owner = owner
        return out

    def claim(self, resident: set[int], jobs: list[JobProcesses]) -> list[JobProcesses]:
        """Add to ``jobs`` the resident processes that descend from a job's process."""
        known = set().union(*(j.pids for j in jobs)) if jobs else set()
        now = time.monotonic()
        found: dict[int, set[int]] = {}
        for pid in sorted(resident - known):
            if now - self._foreign.get(pid, -1e9) < self.FOREIGN_TTL_S:
                continue
            hit = self._job_ancestor(pid)
            if hit is None:
                self._foreign[pid] = now
                continue
            job_id, created = hit
            self.store.add_process(job_id, pid, created, "child")
            self._owner[(pid, created)] = job_id
            found.setdefault(job_id, set()).add(pid)
        if len(self._foreign) > 4096:
            self._foreign = {p: t for p, t in self._foreign.items() if now - t < self.FOREIGN_TTL_S}
        if not found:
            return jobs
        return [JobProcesses(j.job_id, j.pids | found.get(j.job_id, set())) for j in jobs]

    def _job_ancestor(self, pid: int) -> tuple[int, float] | None:
        """(job id, this process's start time) if an ancestor is a job's live process."""
        if not self._owner:
            return None
        try:
            proc = psutil.Process(pid)
            created = round(proc.create_time(), 2)
            parent = proc.parent()
            for _ in range(self.MAX_DEPTH):
                if parent is None:
                    return None
                job = self._owner.get((parent.pid, round(parent.create_time(), 2)))
                if job is not None:
                    return job, created
                parent = parent.parent()
        except psutil.Error:
            return None
        return None

    @staticmethod
    def _alive(pid: int, created: float) -> bool:
        try:
            proc = psutil.Process(pid)
            return round(proc.create_time(), 2) == created and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


def register_pid(store: MeterStore, job_id: int, pid: int, gpus: Sequence[int] = ()) -> None:
    """Count an already running process (and its descendants) for ``job_id``."""
    created = start_time(pid)
    store.add_job(job_id, gpus)
    store.add_process(job_id, pid, created, "registered")


def pinned_env(
    job_id: int, gpus: Sequence[int], base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a job's command: only its GPUs are visible, in NVML's order."""
    env = dict(os.environ if base is None else base)
    visible = ",".join(str(g) for g in gpus)
    env.update(
        CUDA_DEVICE_ORDER="PCI_BUS_ID",  # CUDA's indices = NVML's indices
        CUDA_VISIBLE_DEVICES=visible,
        NVIDIA_VISIBLE_DEVICES=visible or "none",
        GPUBARTER_JOB_ID=str(job_id),
    )
    return env


def run_job(store: MeterStore, job_id: int, gpus: Sequence[int], command: Sequence[str]) -> int:
    """Launch ``command`` as job ``job_id`` pinned to ``gpus``; wait; return its exit status."""
    if not command:
        raise JobError("run-job needs a command after `--`")
    if not gpus:
        raise JobError("run-job needs --gpus: the GPUs the job may use")
    if shutil.which(command[0]) is None:
        raise JobError(f"cannot start {command[0]!r}: no such executable")
    store.add_job(job_id, gpus)
    try:
        proc = subprocess.Popen(list(command), env=pinned_env(job_id, gpus))
    except OSError as exc:
        store.end_job(job_id)
        raise JobError(f"cannot start {command[0]!r}: {exc.strerror}") from None
    # If it already exited, nothing of it ran on a GPU long enough to be metered.
    root: psutil.Process | None = None
    with contextlib.suppress(JobError, psutil.Error):
        store.add_process(job_id, proc.pid, start_time(proc.pid), "launched")
        root = psutil.Process(proc.pid)
    known: set[tuple[int, float]] = set()
    try:
        while True:
            try:
                return proc.wait(timeout=TREE_POLL_S)
            except subprocess.TimeoutExpired:
                if root is not None:
                    _record_tree(store, job_id, root, known)
    finally:
        store.end_job(job_id)


def _record_tree(
    store: MeterStore, job_id: int, root: psutil.Process, known: set[tuple[int, float]]
) -> None:
    """Record the launched command's descendants while they are still its descendants
    (a daemonising child is reparented to init and could not be traced back later)."""
    try:
        children = root.children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            key = (child.pid, round(child.create_time(), 2))
        except psutil.Error:
            continue
        if key not in known:
            known.add(key)
            with contextlib.suppress(StoreError):  # already another job's: never moved
                store.add_process(job_id, key[0], key[1], "child")
