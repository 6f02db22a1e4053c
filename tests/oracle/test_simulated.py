"""The simulated backend: deterministic under a controlled clock, and always labelled."""

from __future__ import annotations

import pytest

from oracle.errors import JobError
from oracle.simulated import SimulatedBackend


def test_every_simulated_gpu_says_it_is_simulated(clock) -> None:
    sim = SimulatedBackend(3, clock=clock)
    assert sim.simulated and sim.kind == "simulated" and "simulated" in sim.driver()
    assert all(
        g.name.endswith("(simulated)") and g.uuid.startswith("GPU-simulated-") for g in sim.gpus()
    )
    assert len({g.uuid for g in sim.gpus()}) == 3


def test_energy_integrates_power_exactly(clock) -> None:
    sim = SimulatedBackend(1, clock=clock, idle_w=50, busy_w=450)
    clock.advance(2)  # idle: 50 W x 2 s = 100 J
    assert sim.read(0, 0).energy_mj == 100_000
    sim.place(pid=10, gpu=0, sm_pct=50)  # 50 + 400 x 0.5 = 250 W
    clock.advance(4)
    r = sim.read(0, 0)
    assert r.energy_mj == 100_000 + 1_000_000
    assert r.util_gpu_pct == 50 and r.processes == {10: 1 << 30}


def test_samples_follow_the_clock_and_the_last_timestamp(clock) -> None:
    sim = SimulatedBackend(1, clock=clock, sample_period_s=0.25)
    sim.place(7, 0, 60)
    clock.advance(1.0)
    r = sim.read(0, 0)
    assert [s.sm_util_pct for s in r.samples] == [60] * 4
    assert r.last_sample_us == round(clock() * 1e6)
    clock.advance(0.5)
    again = sim.read(0, r.last_sample_us)
    assert len(again.samples) == 2 and min(s.timestamp_us for s in again.samples) > r.last_sample_us


def test_same_clock_same_readings(clock) -> None:
    def run() -> list[tuple[int | None, int]]:
        c = type(clock)()
        sim = SimulatedBackend(2, clock=c)
        sim.place(1, 1, 90)
        out = []
        for _ in range(5):
            c.advance(0.7)
            r = sim.read(1, 0)
            out.append((r.energy_mj, len(r.samples or [])))
        return out

    assert run() == run()


def test_removed_process_stops_running(clock) -> None:
    sim = SimulatedBackend(2, clock=clock)
    sim.place(5, 1, 100)
    assert sim.placed() == {5: {1}}
    sim.remove(5)
    assert sim.placed() == {} and sim.read(1, 0).processes == {}


@pytest.mark.parametrize(("count", "gpu", "sm"), [(0, 0, 0), (65, 0, 0), (1, 1, 50), (1, 0, 101)])
def test_bad_simulation_inputs_are_refused(clock, count: int, gpu: int, sm: int) -> None:
    with pytest.raises(JobError):
        sim = SimulatedBackend(count, clock=clock)
        sim.place(1, gpu, sm)
