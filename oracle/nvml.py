"""The NVML backend: one pynvml wrapper with lazy init and shutdown at exit.

Every NVML call goes through :meth:`NvmlBackend._call`, which turns an NVML error
into a missing reading plus the reason (``NotSupported``, ``NoPermission``,
``GpuIsLost``, ``FunctionNotFound``, ...). Only a failed ``nvmlInit`` (driver or
library missing) is fatal, and it raises :class:`BackendUnavailable` with the reason.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from oracle.errors import BackendUnavailable
from oracle.gpu import AccountingStats, GpuIdentity, GpuReading, ProcessSample

T = TypeVar("T")


def error_name(exc: BaseException) -> str:
    """``NVMLError_NoPermission`` -> ``NoPermission``; anything else -> its class name."""
    return type(exc).__name__.removeprefix("NVMLError_")


class _Failed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NvmlBackend:
    kind = "nvml"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nvml: Any = None
        self._handles: dict[int, Any] = {}
        self._gpus: list[GpuIdentity] | None = None
        self._accounting: dict[int, bool] = {}
        #: problems found outside a single reading (a GPU left out, ...).
        self.notes: dict[str, str] = {}

    @property
    def simulated(self) -> bool:
        return False

    # -- lifecycle -------------------------------------------------------------------------

    def _lib(self) -> Any:
        """pynvml, initialised on first use; shut down at interpreter exit."""
        with self._lock:
            if self._nvml is None:
                import pynvml

                try:
                    pynvml.nvmlInit()
                except pynvml.NVMLError as exc:
                    raise BackendUnavailable(
                        f"NVML did not initialise: {error_name(exc)} "
                        f"(NVML error {exc.value}); is the NVIDIA driver "
                        "installed and loaded?"
                    ) from None
                self._nvml = pynvml
                atexit.register(self.close)
            return self._nvml

    def open(self) -> NvmlBackend:
        self._lib()
        return self

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                import contextlib

                with contextlib.suppress(Exception):
                    self._nvml.nvmlShutdown()
                self._nvml = None
                self._handles.clear()

    # -- calls -----------------------------------------------------------------------------

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        nvml = self._lib()
        try:
            return fn(*args)
        except nvml.NVMLError as exc:
            raise _Failed(error_name(exc)) from None

    def driver(self) -> str:
        nvml = self._lib()
        try:
            return str(self._call(nvml.nvmlSystemGetDriverVersion))
        except _Failed as f:
            return f"unknown ({f.reason})"

    def gpus(self) -> list[GpuIdentity]:
        if self._gpus is not None:
            return self._gpus
        nvml = self._lib()
        try:
            count = self._call(nvml.nvmlDeviceGetCount)
        except _Failed as f:
            self.notes["nvmlDeviceGetCount"] = f.reason
            return []
        found = []
        for index in range(count):
            try:
                handle = self._call(nvml.nvmlDeviceGetHandleByIndex, index)
                uuid = str(self._call(nvml.nvmlDeviceGetUUID, handle))
            except _Failed as f:
                self.notes[f"gpu{index}"] = f"left out: no handle or UUID ({f.reason})"
                continue
            try:
                name = str(self._call(nvml.nvmlDeviceGetName, handle))
            except _Failed as f:
                name = "unknown NVIDIA GPU"
                self.notes[f"gpu{index}.name"] = f.reason
            self._handles[index] = handle
            found.append(GpuIdentity(index, name, uuid))
        self._gpus = found
        return found

    def read(
        self, index: int, last_sample_us: int, pids: frozenset[int] = frozenset()
    ) -> GpuReading:
        nvml = self._lib()
        gpu = next(g for g in self.gpus() if g.index == index)
        handle = self._handles[index]
        out = GpuReading(gpu=gpu, last_sample_us=last_sample_us)

        def attempt(name: str, fn: Callable[..., T], *args: Any) -> T | None:
            try:
                return self._call(fn, *args)
            except _Failed as f:
                out.degraded[name] = f.reason
                if f.reason == "GpuIsLost":
                    out.lost = True
                return None

        out.energy_mj = attempt("energy", nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        util = attempt("utilization", nvml.nvmlDeviceGetUtilizationRates, handle)
        if util is not None:
            out.util_gpu_pct, out.util_mem_pct = int(util.gpu), int(util.memory)
        procs = attempt("processes", nvml.nvmlDeviceGetComputeRunningProcesses, handle)
        if procs is not None:
            out.processes = {int(p.pid): p.usedGpuMemory for p in procs}
        out.samples = self._samples(nvml, handle, last_sample_us, out)
        if out.samples:
            out.last_sample_us = max(last_sample_us, *(s.timestamp_us for s in out.samples))
        if pids:
            out.accounting = self._accounting_stats(nvml, index, handle, pids, out)
        return out

    def _samples(
        self, nvml: Any, handle: Any, last_us: int, out: GpuReading
    ) -> list[ProcessSample] | None:
        try:
            raw = self._call(nvml.nvmlDeviceGetProcessUtilization, handle, last_us)
        except _Failed as f:
            if f.reason == "NotFound":  # NVML's way to say: no sample newer than last_us
                return []
            out.degraded["process_utilization"] = f.reason
            out.lost = out.lost or f.reason == "GpuIsLost"
            return None
        return [
            ProcessSample(int(s.pid), int(s.timeStamp), int(s.smUtil), int(s.memUtil))
            for s in raw
            if int(s.timeStamp) > last_us
        ]

    def _accounting_stats(
        self, nvml: Any, index: int, handle: Any, pids: frozenset[int], out: GpuReading
    ) -> dict[int, AccountingStats] | None:
        if index not in self._accounting:
            try:
                self._accounting[index] = bool(self._call(nvml.nvmlDeviceGetAccountingMode, handle))
            except _Failed as f:
                out.degraded["accounting"] = f.reason
                return None
        if not self._accounting[index]:
            out.degraded["accounting"] = "Disabled"
            return None
        stats: dict[int, AccountingStats] = {}
        for pid in sorted(pids):
            try:
                s = self._call(nvml.nvmlDeviceGetAccountingStats, handle, pid)
            except _Failed as f:
                if f.reason != "NotFound":
                    out.degraded["accounting"] = f.reason
                continue
            stats[pid] = AccountingStats(
                pid, int(s.gpuUtilization), int(s.time), int(s.startTime), bool(s.isRunning)
            )
        return stats
