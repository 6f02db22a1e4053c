"""The meter's SQLite store: durable settings, the queue's state machine, job processes, the batches and
challenges the finaliser follows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.attribution import Increment
from oracle.errors import JobError, StoreError
from oracle.jobs import ProcessTracker, register_pid, start_time
from oracle.meter_store import Challenge, Finalization, MeterStore
from oracle.reports import UsageReport

TX = "0x" + "ab" * 32


@pytest.fixture
def store(tmp_path: Path) -> MeterStore:
    s = MeterStore(tmp_path / "meter.sqlite")
    yield s
    s.close()


def a_batch(store: MeterStore) -> int:
    r = UsageReport(1, "GPU-0", "m", 10, 5, 3, 1, 100)
    return store.add_batch(
        chain_id=31337,
        verifying_contract="0x" + "11" * 20,
        digest=b"\1" * 32,
        signer="0x" + "22" * 20,
        signature=b"\2" * 65,
        simulated=True,
        reports=[r],
    )


def test_the_database_is_wal_with_full_fsync(store: MeterStore) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_counters_accumulate_and_reported_ones_are_not_reported_again(store: MeterStore) -> None:
    store.apply([Increment(1, "GPU-0", "m", 1000, 500, 30, 1)])
    store.apply([Increment(1, "GPU-0", "m", 1000, 250, 20, 1)])
    (c,) = store.counters(unreported_only=True)
    assert (c.allocated_ms, c.sm_active_ms, c.energy_mj, c.samples) == (2000, 750, 50, 2)
    store.add_batch(
        chain_id=1,
        verifying_contract="0x" + "11" * 20,
        digest=b"\0" * 32,
        signer="s",
        signature=b"\0" * 65,
        simulated=False,
        reports=[UsageReport(1, "GPU-0", "m", 2000, 750, 50, 2, 1)],
    )
    assert store.counters(unreported_only=True) == []
    store.apply([Increment(1, "GPU-0", "m", 1, 0, 0, 1)])
    assert store.counters(unreported_only=True)[0].samples == 3


def test_a_batch_moves_signed_submitted_confirmed(store: MeterStore) -> None:
    b = a_batch(store)
    assert store.batch(b).state == "signed" and store.batch(b).reports[0].job_id == 1
    store.mark_submitted(b, TX)
    assert (store.batch(b).state, store.batch(b).tx_hash, store.batch(b).attempts) == (
        "submitted",
        TX,
        1,
    )
    store.mark_dropped(b)
    store.mark_submitted(b, TX.replace("ab", "cd"))
    assert store.batch(b).attempts == 2
    store.mark_confirmed(b, 12)
    assert (store.batch(b).state, store.batch(b).block_number) == ("confirmed", 12)
    assert store.queue_counts() == {"signed": 0, "submitted": 0, "confirmed": 1, "split": 0}


@pytest.mark.parametrize(
    "bad", ["confirm_signed", "submit_twice", "bad_hash", "unknown", "neg_block"]
)
def test_illegal_queue_moves_are_refused_and_change_nothing(store: MeterStore, bad: str) -> None:
    b = a_batch(store)
    if bad == "submit_twice":
        store.mark_submitted(b, TX)
    before = store.batch(b)
    with pytest.raises(StoreError):
        {
            "confirm_signed": lambda: store.mark_confirmed(b, 1),
            "submit_twice": lambda: store.mark_submitted(b, TX),
            "bad_hash": lambda: store.mark_submitted(b, "0x1234"),
            "unknown": lambda: store.mark_submitted(b + 1, TX),
            "neg_block": lambda: store.mark_confirmed(b, -1),
        }[bad]()
    assert store.batch(b) == before


def test_unknown_queue_state_is_refused(store: MeterStore) -> None:
    with pytest.raises(StoreError, match="unknown batch state"):
        store.batches("lost")


def test_challenges_are_recorded_with_the_cursor_and_closed_once(store: MeterStore) -> None:
    contract = "0x" + "1A" * 20
    store.add_finalizations(31337, contract, [Finalization(4, 100, ((7, 3),), "pending")], 50,
                            [Challenge(4, 0, 160, "open")])
    # Found again (a rescan after a crash): recorded once.
    store.add_finalizations(31337, contract, [], 60, [Challenge(4, 0, 160, "open")])
    assert store.cursor(31337, contract) == 60
    assert store.challenges(31337, contract.lower()) == [Challenge(4, 0, 160, "open")]
    assert store.challenge_counts() == {"open": 1, "closed": 0}
    store.mark_challenge_closed(31337, contract, 4, 0, TX)
    assert store.challenges(31337, contract) == []
    assert store.challenges(31337, contract, None) == [Challenge(4, 0, 160, "closed")]
    for batch_id, entry in ((4, 0), (4, 1), (5, 0)):  # closed already; never challenged
        with pytest.raises(StoreError, match="has no open challenge"):
            store.mark_challenge_closed(31337, contract, batch_id, entry, None)
    assert store.challenge_counts() == {"open": 0, "closed": 1}


def test_a_process_belongs_to_one_job_only(store: MeterStore) -> None:
    register_pid(store, 1, os.getpid())
    with pytest.raises(StoreError, match="already belongs to job 1"):
        register_pid(store, 2, os.getpid())
    assert [j.job_id for j in store.jobs()] == [1, 2]
    assert [len(j.processes) for j in store.jobs()] == [1, 0]


def test_registering_a_missing_process_is_refused(store: MeterStore) -> None:
    with pytest.raises(JobError, match="does not exist"):
        register_pid(store, 1, 2**22 + 12345)
    assert store.jobs() == []


def test_the_tracker_records_children_and_ignores_a_reused_pid(store: MeterStore) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess,sys,time; c=subprocess.Popen(['sleep','30']); "
            "print(c.pid, flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        child = int(parent.stdout.readline())
        register_pid(store, 5, parent.pid)
        tracker = ProcessTracker(store)
        (job,) = tracker.refresh()
        assert job.pids == {parent.pid}
        # The child shows up on a GPU next to a foreign process: only the child is claimed.
        (job,) = tracker.claim({child, os.getpid()}, [job])
        assert job.pids == {parent.pid, child}
        assert tracker.refresh()[0].pids == {parent.pid, child}  # recorded: counts from now on
        sources = {p: s for p, _, s in store.jobs()[0].processes}
        assert sources == {parent.pid: "registered", child: "child"}
        # A process with the same pid but another start time is not the job's.
        store.add_job(6)
        store.add_process(6, os.getpid(), start_time(os.getpid()) - 100, "registered")
        assert {j.job_id: j.pids for j in tracker.refresh()}[6] == frozenset()
    finally:
        parent.kill()
        subprocess.run(["kill", "-9", str(child)], check=False)
        parent.wait()


def test_a_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "meter.sqlite"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the meter database"):
        MeterStore(bad)
