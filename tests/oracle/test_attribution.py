"""Attribution: only a job's processes count; SM time and energy are apportioned."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.attribution import Attributor, JobProcesses
from oracle.gpu import GpuIdentity, GpuReading, ProcessSample

GPU = GpuIdentity(0, "NVIDIA H100 80GB HBM3", "GPU-0")
S = 1_000_000_000  # ns per second


def reading(
    energy: int | None,
    procs: dict[int, int] | None,
    samples: list[tuple[int, int]] | None,
    util: int | None = None,
    lost: bool = False,
) -> GpuReading:
    return GpuReading(
        GPU,
        energy_mj=energy,
        util_gpu_pct=util,
        processes=None if procs is None else dict.fromkeys(procs, 1 << 20),
        samples=None if samples is None else [ProcessSample(pid, 1, sm) for pid, sm in samples],
        lost=lost,
    )


def primed(now: int = 0, energy: int = 0) -> Attributor:
    a = Attributor()
    assert a.tick(now, reading(energy, {}, []), []) == []  # the first reading sets the baseline
    return a


def test_a_process_not_the_jobs_never_counts() -> None:
    a = primed()
    job = JobProcesses(1, frozenset({100}))
    incs = a.tick(1 * S, reading(10_000, {200: 1}, [(200, 100)]), [job])
    assert incs == []


def test_sm_time_and_energy_follow_the_jobs_share() -> None:
    a = primed()
    job = JobProcesses(1, frozenset({100}))
    # The job's process at 60 % (mean of 40 and 80), a foreign process at 20 %.
    incs = a.tick(2 * S, reading(8_000, {100: 1, 200: 1}, [(100, 40), (100, 80), (200, 20)]), [job])
    (inc,) = incs
    assert (inc.allocated_ms, inc.sm_active_ms, inc.samples) == (2_000, 1_200, 1)
    assert inc.energy_mj == 8_000 * 60 // 80  # SM-activity share 60/80
    assert inc.gpu_uuid == "GPU-0" and inc.gpu_model == GPU.name


def test_children_of_two_jobs_split_energy_and_idle_processes_split_by_count() -> None:
    a = primed()
    j1, j2 = JobProcesses(1, frozenset({1, 2})), JobProcesses(2, frozenset({3}))
    incs = {i.job_id: i for i in a.tick(S, reading(900, {1: 1, 2: 1, 3: 1}, []), [j1, j2])}
    assert incs[1].energy_mj == 600 and incs[2].energy_mj == 300  # nothing active: by count
    assert incs[1].sm_active_ms == incs[2].sm_active_ms == 0


def test_sm_is_capped_at_the_whole_gpu() -> None:
    a = primed()
    job = JobProcesses(1, frozenset({1, 2}))
    (inc,) = a.tick(S, reading(0, {1: 1, 2: 1}, [(1, 90), (2, 90)]), [job])
    assert inc.sm_active_ms == inc.allocated_ms == 1_000


def test_without_process_samples_device_utilisation_counts_only_on_an_exclusive_gpu() -> None:
    job = JobProcesses(1, frozenset({1}))
    a = primed()
    (inc,) = a.tick(S, reading(100, {1: 1}, None, util=70), [job])
    assert inc.sm_active_ms == 700 and "device utilisation" in a.degraded["GPU-0"]
    b = primed()
    (shared,) = b.tick(S, reading(100, {1: 1, 9: 1}, None, util=70), [job])
    assert shared.sm_active_ms == 0 and "shared GPU" in b.degraded["GPU-0"]


def test_a_lost_gpu_or_a_reset_counter_never_adds_energy() -> None:
    job = JobProcesses(1, frozenset({1}))
    a = primed(energy=50_000)
    assert a.tick(S, reading(None, {1: 1}, [(1, 50)], lost=True), [job]) == []
    assert a.tick(2 * S, reading(10, {1: 1}, [(1, 50)]), [job]) == []  # new baseline after loss
    (inc,) = a.tick(3 * S, reading(5, {1: 1}, [(1, 50)]), [job])  # counter went backwards
    assert inc.energy_mj == 0 and inc.allocated_ms == 1_000


def test_sub_millisecond_remainders_carry_over() -> None:
    a = primed()
    job = JobProcesses(1, frozenset({1}))
    total = 0
    for k in range(1, 4):
        (inc,) = a.tick(k * 1_000_600_000 // 1, reading(0, {1: 1}, [(1, 100)]), [job])
        total += inc.allocated_ms
    assert total == 3_001  # 3 x 1000.6 ms, no drift


def test_without_a_process_list_fresh_samples_mark_presence() -> None:
    a = primed()
    job = JobProcesses(1, frozenset({1}))
    (inc,) = a.tick(S, reading(0, None, [(1, 30)]), [job])
    assert inc.sm_active_ms == 300


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 6), st.integers(0, 100)), max_size=12),
    st.integers(0, 10**9),
    st.integers(1, 10 * S),
)
def test_attributed_never_exceeds_what_was_measured(samples, energy, dt) -> None:
    a = primed()
    jobs = [JobProcesses(1, frozenset({1, 2})), JobProcesses(2, frozenset({3, 4}))]
    procs = {pid: 1 for pid, _ in samples}
    incs = a.tick(dt, reading(energy, procs, samples), jobs)
    assert sum(i.energy_mj for i in incs) <= energy
    for i in incs:
        assert 0 <= i.sm_active_ms <= i.allocated_ms <= dt // 1_000_000
    assert all(i.job_id in (1, 2) for i in incs)
