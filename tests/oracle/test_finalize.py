"""The finaliser on anvil: batches become final only after the challenge period, exactly once, from a
cursor persisted in the meter's database; someone else finalising first is fine; a challenge holds back
only its entry, which the arbiter's ruling settles, or the finaliser's lapse once the ruling window is
over; a paused Jobs leaves the batch pending and retried, never recorded final."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from compute_world import World
from metering_world import entries_of, oracle_of, report, submit

from gpubarter.deploy_plan import WAD
from oracle.finalize import RETRY_S, Finalizer
from oracle.store import Challenge, MeterStore

PERIOD = 60
BOND = WAD  # the contract's default challenge bond: a challenge is never free


@pytest.fixture
def store(tmp_path: Path):
    s = MeterStore(tmp_path / "meter.sqlite")
    yield s
    s.close()


@pytest.fixture
def optimistic(world: World) -> None:
    world.gov.sender.transact(oracle_of(world).functions.setChallengeParams(PERIOD, BOND, 0, 0))


def _finalizer(world: World, store: MeterStore) -> Finalizer:
    return Finalizer(store, world.other.sender, oracle_of(world), logging.getLogger("test.finalize"))


def _used(world: World, job: int) -> int:
    return world.holder.job(job).used_seconds


def _challenged_batch(world: World) -> tuple[int, int, int, list[tuple[int, int]]]:
    """(good job, challenged job, batch, entries): a batch of two entries whose second the holder
    challenges within the period."""
    oracle = oracle_of(world)
    good, bad = world.acked_job(3_600), world.acked_job(3_600)
    result = submit(world, [report(world, good, 4_000), report(world, bad, 9_000)], [world.gov.sender])
    batch, entries = oracle.functions.batchCount().call(), entries_of(world, result)
    world.gov.sender.transact(world.gov.token.functions.transfer(world.holder.sender.address, BOND))
    world.holder.sender.transact(world.holder.token.functions.approve(oracle.address, BOND))
    world.holder.sender.transact(oracle.functions.challenge(batch, entries, 1))
    return good, bad, batch, entries


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


def test_a_challenge_holds_back_its_entry_not_the_batch(
    world: World, store: MeterStore, optimistic: None
) -> None:
    oracle = oracle_of(world)
    fin = _finalizer(world, store)
    good, bad, batch, _entries = _challenged_batch(world)
    fin.pump()
    assert store.challenges(world.w3.eth.chain_id, fin.contract) == [
        Challenge(batch, 1, oracle.functions.resolveByOf(batch).call(), "open")]
    world.travel(PERIOD)
    assert fin.pump() == 1  # the period is over: final, the unchallenged entry applied
    assert (_used(world, good), _used(world, bad)) == (4, 0)
    world.gov.sender.transact(oracle.functions.resolve(batch, 1, True))
    assert (_used(world, good), _used(world, bad)) == (4, 0)  # the voided entry never applies
    # Past the ruling window the finaliser finds the challenge ruled on: closed, no transaction of ours.
    world.travel(PERIOD + 1)
    nonce = world.w3.eth.get_transaction_count(world.other.sender.address)
    assert fin.pump() == 0 and fin.lapsed == 0
    assert world.w3.eth.get_transaction_count(world.other.sender.address) == nonce
    assert [c.state for c in store.challenges(world.w3.eth.chain_id, fin.contract, None)] == ["closed"]
    assert (_used(world, good), _used(world, bad)) == (4, 0)


def test_a_challenge_without_a_ruling_is_lapsed_after_its_window(
    world: World, store: MeterStore, optimistic: None
) -> None:
    oracle = oracle_of(world)
    good, bad, batch, _entries = _challenged_batch(world)
    holder_cpt = world.holder.cpt_balance()
    world.travel(PERIOD)
    # A restart after the challenge: the new finaliser finds it from the persisted cursor.
    fin = _finalizer(world, store)
    assert fin.pump() == 1 and fin.lapsed == 0  # the arbiter may still rule: nothing lapsed yet
    held = world.holder.jobs.functions.holdsOf(bad).call
    assert (_used(world, good), _used(world, bad), held()) == (4, 0, 1)
    world.travel_to(oracle.functions.resolveByOf(batch).call() + 1)
    assert fin.pump() == 0 and fin.lapsed == 1
    assert (_used(world, good), _used(world, bad), held()) == (4, 9, 0)
    assert world.holder.cpt_balance() == holder_cpt + BOND  # the challenger's bond back
    assert oracle.functions.challengeOf(batch, 1).call()[0] == 4  # Lapsed
    assert [c.state for c in store.challenges(world.w3.eth.chain_id, fin.contract, None)] == ["closed"]
    assert fin.pump() == 0 and fin.lapsed == 1 and _used(world, bad) == 9  # nothing twice


def test_a_paused_jobs_leaves_the_batch_pending_and_retried(
    world: World, store: MeterStore, optimistic: None
) -> None:
    oracle = oracle_of(world)
    job = world.acked_job(3_600)
    submit(world, [report(world, job, 6_000)], [world.gov.sender])
    batch = oracle.functions.batchCount().call()
    fin = _finalizer(world, store)
    fin.pump()
    world.travel(PERIOD)
    world.gov.sender.transact(world.gov.jobs.functions.pause())
    assert fin.pump() == 0  # finalize reverts (EnforcedPause): nothing applied, nothing recorded final
    assert _used(world, job) == 0 and oracle.functions.batchOf(batch).call()[2] is False
    assert [f.state for f in store.finalizations(world.w3.eth.chain_id, fin.contract, None)] == ["pending"]
    world.gov.sender.transact(world.gov.jobs.functions.unpause())
    assert fin.pump() == 0  # waits RETRY_S before trying again
    world.travel(RETRY_S)
    assert fin.pump() == 1 and _used(world, job) == 6
    assert [f.state for f in store.finalizations(world.w3.eth.chain_id, fin.contract, None)] == ["final"]


def test_a_paused_jobs_delays_a_lapse(world: World, store: MeterStore, optimistic: None) -> None:
    oracle = oracle_of(world)
    fin = _finalizer(world, store)
    _good, bad, batch, _entries = _challenged_batch(world)
    world.travel(PERIOD)
    fin.pump()
    world.travel_to(oracle.functions.resolveByOf(batch).call() + 1)
    world.gov.sender.transact(world.gov.jobs.functions.pause())
    assert fin.pump() == 0 and fin.lapsed == 0  # lapse reverts (EnforcedPause): the challenge stays open
    assert oracle.functions.challengeOf(batch, 1).call()[0] == 1 and _used(world, bad) == 0
    assert [c.state for c in store.challenges(world.w3.eth.chain_id, fin.contract, None)] == ["open"]
    world.gov.sender.transact(world.gov.jobs.functions.unpause())
    world.travel(RETRY_S)
    fin.pump()
    assert fin.lapsed == 1 and _used(world, bad) == 9


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
