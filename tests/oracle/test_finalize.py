"""The finaliser on anvil: batches become final only after the challenge period, exactly once, from a
cursor persisted in the meter's database; someone else finalising first is fine; a challenged batch
waits for the arbiter."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from compute_world import World
from metering_world import entries_of, oracle_of, report, submit

from oracle.finalize import RETRY_S, Finalizer
from oracle.store import MeterStore

PERIOD = 60


@pytest.fixture
def store(tmp_path: Path):
    s = MeterStore(tmp_path / "meter.sqlite")
    yield s
    s.close()


@pytest.fixture
def optimistic(world: World) -> None:
    world.gov.sender.transact(oracle_of(world).functions.setChallengeParams(PERIOD, 0, 0, 0))


def _finalizer(world: World, store: MeterStore) -> Finalizer:
    return Finalizer(store, world.other.sender, oracle_of(world), logging.getLogger("test.finalize"))


def _used(world: World, job: int) -> int:
    return world.holder.job(job).used_seconds


def test_final_only_after_the_period_once_and_resumed_after_restart(
    world: World, store: MeterStore, optimistic: None
) -> None:
    job = world.acked_job(3_600)
    burned = world.holder.series(world.series_id).burned
    submit(world, [report(world, job, 7_400)], [world.gov.sender])
    fin = _finalizer(world, store)
    assert fin.pump() == 0
    assert [(f.entries, f.state) for f in store.finalizations(world.w3.eth.chain_id, fin.contract)] == [
        (((job, 7),), "pending")]
    assert _used(world, job) == 0 and world.holder.series(world.series_id).burned == burned
    world.travel(PERIOD - 5)
    assert fin.pump() == 0 and _used(world, job) == 0  # still inside the period
    world.travel(5)
    # A restart: a new finaliser on the same database resumes from the persisted cursor.
    again = _finalizer(world, store)
    assert again.pump() == 1
    assert _used(world, job) == 7 and world.holder.series(world.series_id).burned == burned + 7
    assert again.pump() == 0 and fin.pump() == 0  # nothing twice
    assert store.finalizations(world.w3.eth.chain_id, fin.contract) == []
    assert store.cursor(world.w3.eth.chain_id, fin.contract) == world.w3.eth.block_number + 1


def test_someone_else_finalising_first_is_fine(world: World, store: MeterStore, optimistic: None) -> None:
    job = world.acked_job(3_600)
    result = submit(world, [report(world, job, 3_000)], [world.gov.sender])
    fin = _finalizer(world, store)
    fin.pump()
    world.travel(PERIOD)
    oracle = oracle_of(world)
    world.gov.sender.transact(oracle.functions.finalize(oracle.functions.batchCount().call(),
                                                        entries_of(world, result)))
    assert fin.pump() == 0  # marked final, no transaction of ours
    assert _used(world, job) == 3
    assert [f.state for f in store.finalizations(world.w3.eth.chain_id, fin.contract, None)] == ["final"]


def test_a_challenged_batch_waits_for_the_arbiter(world: World, store: MeterStore, optimistic: None) -> None:
    oracle = oracle_of(world)
    good, bad = world.acked_job(3_600), world.acked_job(3_600)
    result = submit(world, [report(world, good, 4_000), report(world, bad, 9_000)], [world.gov.sender])
    batch, entries = oracle.functions.batchCount().call(), entries_of(world, result)
    fin = _finalizer(world, store)
    fin.pump()
    world.holder.sender.transact(oracle.functions.challenge(batch, entries, 1))  # within the period
    world.travel(PERIOD)
    assert fin.pump() == 0  # open challenge: not finalisable, tried again later
    assert (_used(world, good), _used(world, bad)) == (0, 0)
    world.gov.sender.transact(oracle.functions.resolve(batch, 1, True))
    world.travel(RETRY_S)
    assert fin.pump() == 1
    assert (_used(world, good), _used(world, bad)) == (4, 0)  # the voided entry never applies


def test_period_zero_leaves_nothing_pending(world: World, store: MeterStore) -> None:
    job = world.acked_job(3_600)
    submit(world, [report(world, job, 2_000)], [world.gov.sender])
    fin = _finalizer(world, store)
    assert fin.pump() == 0 and store.finalizations(world.w3.eth.chain_id, fin.contract, None) == []
    assert _used(world, job) == 2


def test_finalize_command_runs_one_pass(
    world: World, optimistic: None, chain, tmp_path: Path, capsys, monkeypatch
) -> None:
    from gpubarter.cli import main as cli_main
    from gpubarter.deployments import save_deployment

    monkeypatch.setenv("GPUBARTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("GPUBARTER_LOCAL_RPC_URL", chain.url)
    save_deployment(world.deployment, tmp_path / "deployments")
    job = world.acked_job(3_600)
    submit(world, [report(world, job, 4_200)], [world.gov.sender])
    db = tmp_path / "cli.sqlite"
    assert cli_main(["oracle", "finalize", "--db", str(db)]) == 0
    assert "finalised 0 batch(es); 1 still" in capsys.readouterr().out and _used(world, job) == 0
    assert cli_main(["oracle", "status", "--db", str(db)]) == 0
    assert "on-chain batches: 1 in their challenge period, 0 finalised" in capsys.readouterr().out
    world.travel(PERIOD)
    assert cli_main(["oracle", "finalize", "--db", str(db)]) == 0
    assert "finalised 1 batch(es); 0 still" in capsys.readouterr().out and _used(world, job) == 4
    assert cli_main(["oracle", "status", "--db", str(db), "--json"]) == 0
    assert '"final": 1' in capsys.readouterr().out
