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
from collections.abc import Sequence

import psutil

from oracle.attribution import JobProcesses
from oracle.errors import JobError
from oracle.store import MeterStore

UINT256_MAX = 2**256 - 1


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
    """Resolves each active job to its live processes, once per sample."""

    def __init__(self, store: MeterStore) -> None:
        self.store = store
        self._known: set[tuple[int, float]] = set()

    def refresh(self) -> list[JobProcesses]:
        out = []
        for job in self.store.jobs(active_only=True):
            live: set[int] = set()
            for pid, created, _source in job.processes:
                self._known.add((pid, created))
                proc = self._alive(pid, created)
                if proc is None:
                    continue
                live.add(pid)
                try:
                    children = proc.children(recursive=True)
                except psutil.Error:
                    continue
                for child in children:
                    try:
                        key = (child.pid, round(child.create_time(), 2))
                    except psutil.Error:
                        continue
                    if key not in self._known:
                        self._known.add(key)
                        self.store.add_process(job.job_id, key[0], key[1], "child")
                    live.add(child.pid)
            out.append(JobProcesses(job.job_id, frozenset(live)))
        return out

    @staticmethod
    def _alive(pid: int, created: float) -> psutil.Process | None:
        try:
            proc = psutil.Process(pid)
            if round(proc.create_time(), 2) != created or proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None


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
    with contextlib.suppress(JobError):
        store.add_process(job_id, proc.pid, start_time(proc.pid), "launched")
    try:
        return proc.wait()
    finally:
        store.end_job(job_id)
