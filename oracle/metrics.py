"""Prometheus metrics of the meter, served on 127.0.0.1 by default (units in names)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from oracle.attribution import Increment
from oracle.gpu import GpuReading


class MeterMetrics:
    def __init__(self, backend: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.simulated = Gauge(
            "gpubarter_oracle_simulated",
            "1 if the GPUs are simulated, 0 if read through NVML",
            ["backend"],
            registry=r,
        )
        self.simulated.labels(backend).set(1 if backend == "simulated" else 0)
        gpu = ["gpu", "uuid", "backend"]
        self.energy = Gauge(
            "gpubarter_oracle_gpu_energy_millijoules",
            "GPU energy counter since driver load, in millijoules",
            gpu,
            registry=r,
        )
        self.util = Gauge(
            "gpubarter_oracle_gpu_utilization_percent",
            "GPU (SM) utilisation over the last sample period, in percent",
            gpu,
            registry=r,
        )
        self.degraded = Gauge(
            "gpubarter_oracle_gpu_degraded_readings",
            "NVML readings missing in the last sample (see the log for why)",
            gpu,
            registry=r,
        )
        job = ["job", "uuid", "backend"]
        self.allocated = Counter(
            "gpubarter_oracle_job_allocated_gpu_milliseconds",
            "GPU-milliseconds a job held a GPU (this daemon run)",
            job,
            registry=r,
        )
        self.sm_active = Counter(
            "gpubarter_oracle_job_sm_active_gpu_milliseconds",
            "SM-active GPU-milliseconds of a job (this daemon run)",
            job,
            registry=r,
        )
        self.job_energy = Counter(
            "gpubarter_oracle_job_energy_millijoules",
            "Energy attributed to a job, in millijoules (this daemon run)",
            job,
            registry=r,
        )
        self.samples = Counter(
            "gpubarter_oracle_samples", "Meter samples taken", ["backend"], registry=r
        )
        self.tick = Histogram(
            "gpubarter_oracle_sample_duration_seconds",
            "Wall time of one sample of every GPU, in seconds",
            ["backend"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
            registry=r,
        )
        self.batches = Gauge(
            "gpubarter_oracle_batches",
            "Signed report batches by queue state",
            ["state", "backend"],
            registry=r,
        )
        self.backend = backend
        self._job_series: set[tuple[int, str]] = set()

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics``; returns the port (``port=0`` picks a free one)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_port)

    def observe_reading(self, reading: GpuReading) -> None:
        labels = (str(reading.gpu.index), reading.gpu.uuid, self.backend)
        if reading.energy_mj is not None:
            self.energy.labels(*labels).set(reading.energy_mj)
        if reading.util_gpu_pct is not None:
            self.util.labels(*labels).set(reading.util_gpu_pct)
        self.degraded.labels(*labels).set(len(reading.degraded))

    def observe_increment(self, inc: Increment) -> None:
        self._job_series.add((inc.job_id, inc.gpu_uuid))
        labels = (str(inc.job_id), inc.gpu_uuid, self.backend)
        self.allocated.labels(*labels).inc(inc.allocated_ms)
        self.sm_active.labels(*labels).inc(inc.sm_active_ms)
        self.job_energy.labels(*labels).inc(inc.energy_mj)

    def forget_jobs(self, active: set[int]) -> None:
        """Drop the series of jobs that ended, so a long-running meter stays small."""
        for key in [k for k in self._job_series if k[0] not in active]:
            labels = (str(key[0]), key[1], self.backend)
            for metric in (self.allocated, self.sm_active, self.job_energy):
                metric.remove(*labels)
            self._job_series.discard(key)

    def observe_queue(self, counts: dict[str, int]) -> None:
        for state, n in counts.items():
            self.batches.labels(state, self.backend).set(n)
