"""The real pynvml code path, driven by a fake libnvidia-ml.so.1 compiled from C.

Each NVML failure the meter must survive is injected into the library and the test
checks that the meter degrades (reading missing, reason recorded) instead of crashing.
"""

from __future__ import annotations

from pathlib import Path

from oracle.testing.fake_nvml import (
    DRIVER_NOT_LOADED,
    GPU_IS_LOST,
    NO_PERMISSION,
    NOT_SUPPORTED,
    FakeGpu,
)

PID = 4242


def busy_gpu(uuid: str = "GPU-aaaa") -> FakeGpu:
    return FakeGpu(
        uuid=uuid,
        energy_mj=123_456,
        util=(75, 30),
        procs={PID: 2 << 30},
        samples=[(PID, 1_000, 40), (PID, 2_000, 80)],
        accounting=True,
        acct=[(PID, 77, 5_000, 100, 1)],
    )


def test_readings_come_through_pynvml_from_the_library(probe_nvml) -> None:
    doc = probe_nvml(
        [busy_gpu(), FakeGpu(name="NVIDIA A100-SXM4-80GB", uuid="GPU-bbbb")],
        args=("--pids", str(PID)),
    )
    assert doc["_rc"] == 0 and doc["backend"] == "nvml" and doc["simulated"] is False
    assert doc["driver"] == "999.99-fake"
    assert [(g["name"], g["uuid"]) for g in doc["gpus"]] == [
        ("NVIDIA H100 80GB HBM3", "GPU-aaaa"),
        ("NVIDIA A100-SXM4-80GB", "GPU-bbbb"),
    ]
    r0, r1 = doc["readings"]
    assert r0["energy_mj"] == 123_456 and (r0["util_gpu_pct"], r0["util_mem_pct"]) == (75, 30)
    assert r0["processes"] == {str(PID): 2 << 30}
    assert [s["sm_util_pct"] for s in r0["samples"]] == [40, 80] and r0["last_sample_us"] == 2_000
    assert r0["accounting"][str(PID)]["gpu_util_pct"] == 77
    assert r0["degraded"] == {} and r0["lost"] is False
    # An idle GPU: no processes, no samples (NVML says NotFound), accounting disabled.
    assert r1["processes"] == {} and r1["samples"] == []
    assert r1["degraded"] == {"accounting": "Disabled"}


def test_only_samples_newer_than_the_last_timestamp_are_read(probe_nvml) -> None:
    doc = probe_nvml([busy_gpu()], args=("--last-sample-us", "1000", "--reads", "2"))
    first, second = doc["readings"]
    assert [s["timestamp_us"] for s in first["samples"]] == [2_000]
    assert second["samples"] == [] and second["last_sample_us"] == 2_000
    assert "process_utilization" not in second["degraded"]


def test_not_supported_energy_degrades_that_reading_only(probe_nvml) -> None:
    doc = probe_nvml([busy_gpu()], errors={"nvmlDeviceGetTotalEnergyConsumption": NOT_SUPPORTED})
    (r,) = doc["readings"]
    assert doc["_rc"] == 0
    assert r["energy_mj"] is None and r["degraded"]["energy"] == "NotSupported"
    assert r["util_gpu_pct"] == 75 and r["processes"] == {str(PID): 2 << 30}


def test_no_permission_for_processes_is_recorded(probe_nvml) -> None:
    doc = probe_nvml(
        [busy_gpu()],
        errors={
            "nvmlDeviceGetComputeRunningProcesses_v3": NO_PERMISSION,
            "nvmlDeviceGetProcessUtilization": NO_PERMISSION,
        },
    )
    (r,) = doc["readings"]
    assert r["processes"] is None and r["samples"] is None
    assert r["degraded"] == {"processes": "NoPermission", "process_utilization": "NoPermission"}
    assert r["energy_mj"] == 123_456


def test_a_lost_gpu_is_marked_lost_and_the_others_still_read(probe_nvml) -> None:
    errors = {
        f"1.{fn}": GPU_IS_LOST
        for fn in (
            "nvmlDeviceGetTotalEnergyConsumption",
            "nvmlDeviceGetUtilizationRates",
            "nvmlDeviceGetComputeRunningProcesses_v3",
            "nvmlDeviceGetProcessUtilization",
        )
    }
    doc = probe_nvml([busy_gpu("GPU-ok"), busy_gpu("GPU-gone")], errors=errors)
    ok, gone = doc["readings"]
    assert ok["lost"] is False and ok["energy_mj"] == 123_456
    assert gone["lost"] is True and set(gone["degraded"].values()) == {"GpuIsLost"}


def test_a_gpu_without_uuid_is_left_out_with_the_reason(probe_nvml) -> None:
    doc = probe_nvml(
        [busy_gpu("GPU-ok"), busy_gpu("GPU-x")], errors={"1.nvmlDeviceGetUUID": NO_PERMISSION}
    )
    assert [g["uuid"] for g in doc["gpus"]] == ["GPU-ok"]
    assert "NoPermission" in doc["notes"]["gpu1"]


def test_a_function_missing_from_the_library_degrades(probe_nvml) -> None:
    doc = probe_nvml(
        [busy_gpu()],
        omit=("nvmlDeviceGetProcessUtilization", "nvmlDeviceGetTotalEnergyConsumption"),
    )
    (r,) = doc["readings"]
    assert r["degraded"]["process_utilization"] == "FunctionNotFound"
    assert r["degraded"]["energy"] == "FunctionNotFound"
    assert r["samples"] is None and r["processes"] == {str(PID): 2 << 30}


def test_driver_not_loaded_is_a_clear_error_with_backend_nvml(probe_nvml) -> None:
    doc = probe_nvml([busy_gpu()], init_error=DRIVER_NOT_LOADED)
    assert doc["_rc"] == 1 and doc["kind"] == "BackendUnavailable"
    assert "DriverNotLoaded" in doc["error"]


def test_missing_library_falls_back_to_simulated_loudly_with_auto(
    probe_nvml, tmp_path: Path
) -> None:
    empty = tmp_path / "no-nvml"
    empty.mkdir()
    strict = probe_nvml([busy_gpu()], lib_dir=empty)
    assert strict["_rc"] == 1 and "LibraryNotFound" in strict["error"]
    auto = probe_nvml([busy_gpu()], lib_dir=empty, backend="auto")
    assert auto["_rc"] == 0 and auto["backend"] == "simulated" and auto["simulated"] is True
    assert "LibraryNotFound" in auto["notes"]["fallback"]
    assert "SIMULATED" in auto["_stderr"]
    assert all(g["name"].endswith("(simulated)") for g in auto["gpus"])


def test_accounting_errors_other_than_not_found_are_recorded(probe_nvml) -> None:
    doc = probe_nvml(
        [busy_gpu()],
        errors={"nvmlDeviceGetAccountingStats": NO_PERMISSION},
        args=("--pids", f"{PID},999"),
    )
    (r,) = doc["readings"]
    assert r["accounting"] == {} and r["degraded"]["accounting"] == "NoPermission"
