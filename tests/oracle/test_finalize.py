"""The finaliser on anvil: batches become final only after the challenge period, exactly once, from a
cursor persisted in the meter's database; someone else finalising first is fine; a challenge holds back
only its entry, which the arbiter's ruling settles, or the finaliser's lapse once the ruling window is
over; a paused Jobs holds back nothing (metering is not pausable); a refusal that may pass (a revoked
METERING_ROLE here) leaves the batch pending and retried, never recorded final."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from compute_world import World
from metering_world import entries_of, oracle_of, report, submit

from cli import main as cli_main
from gpubarter.deploy_plan import WAD, role
from gpubarter.deployment_record import save_deployment
from oracle.finalize import RETRY_S, Finalizer
from oracle.meter_store import Challenge, MeterStore

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


def _set_metering(world: World, granted: bool) -> None:
    """Governance grants or revokes the oracle's METERING_ROLE on Jobs: a refusal that may pass."""
    jobs = world.gov.jobs.functions
    change = jobs.grantRole if granted else jobs.revokeRole
    world.gov.sender.transact(change(role("METERING_ROLE"), oracle_of(world).address))


def test_a_paused_jobs_holds_back_neither_a_batch_nor_a_lapse(
    world: World, store: MeterStore, optimistic: None
) -> None:
    oracle = oracle_of(world)
    fin = _finalizer(world, store)
    good, bad, batch, _entries = _challenged_batch(world)
    fin.pump()
    world.gov.sender.transact(world.gov.jobs.functions.pause())
    world.travel(PERIOD)
    assert fin.pump() == 1 and (_used(world, good), _used(world, bad)) == (4, 0)
    assert [f.state for f in store.finalizations(world.w3.eth.chain_id, fin.contract, None)] == ["final"]
    world.travel_to(oracle.functions.resolveByOf(batch).call() + 1)
    assert fin.pump() == 0 and fin.lapsed == 1 and _used(world, bad) == 9
    assert [c.state for c in store.challenges(world.w3.eth.chain_id, fin.contract, None)] == ["closed"]
    assert world.gov.jobs.functions.paused().call() is True


def test_a_refusal_that_may_pass_leaves_the_batch_pending_and_retried(
    world: World, store: MeterStore, optimistic: None
) -> None:
    oracle = oracle_of(world)
    job = world.acked_job(3_600)
    submit(world, [report(world, job, 6_000)], [world.gov.sender])
    batch = oracle.functions.batchCount().call()
    fin = _finalizer(world, store)
    fin.pump()
    world.travel(PERIOD)
    _set_metering(world, False)
    burned = world.holder.series(world.series_id).burned
    # finalize reverts (AccessControlUnauthorizedAccount): nothing applied, nothing recorded final
    assert fin.pump() == 0
    assert _used(world, job) == 0 and oracle.functions.batchOf(batch).call()[2] is False
    assert world.holder.series(world.series_id).burned == burned
    assert [f.state for f in store.finalizations(world.w3.eth.chain_id, fin.contract, None)] == ["pending"]
    _set_metering(world, True)
    assert fin.pump() == 0 and _used(world, job) == 0  # waits RETRY_S before trying again
    world.travel(RETRY_S)
    assert fin.pump() == 1 and _used(world, job) == 6
    assert world.holder.series(world.series_id).burned == burned + 6
    assert [f.state for f in store.finalizations(world.w3.eth.chain_id, fin.contract, None)] == ["final"]
    world.travel(RETRY_S)
    assert fin.pump() == 0 and _used(world, job) == 6  # exactly once


def test_a_refusal_that_may_pass_delays_a_lapse(world: World, store: MeterStore, optimistic: None) -> None:
    oracle = oracle_of(world)
    fin = _finalizer(world, store)
    _good, bad, batch, _entries = _challenged_batch(world)
    world.travel(PERIOD)
    fin.pump()
    world.travel_to(oracle.functions.resolveByOf(batch).call() + 1)
    _set_metering(world, False)
    # lapse reverts (AccessControlUnauthorizedAccount): the challenge stays open, the job held
    assert fin.pump() == 0 and fin.lapsed == 0
    assert oracle.functions.challengeOf(batch, 1).call()[0] == 1 and _used(world, bad) == 0
    assert world.holder.jobs.functions.holdsOf(bad).call() == 1
    assert [c.state for c in store.challenges(world.w3.eth.chain_id, fin.contract, None)] == ["open"]
    _set_metering(world, True)
    world.travel(RETRY_S)
    fin.pump()
    assert fin.lapsed == 1 and _used(world, bad) == 9
    assert [c.state for c in store.challenges(world.w3.eth.chain_id, fin.contract, None)] == ["closed"]


def test_period_zero_leaves_nothing_pending(world: World, store: MeterStore) -> None:
    job = world.acked_job(3_600)
    submit(world, [report(world, job, 2_000)], [world.gov.sender])
    fin = _finalizer(world, store)
    assert fin.pump() == 0 and store.finalizations(world.w3.eth.chain_id, fin.contract, None) == []
    assert _used(world, job) == 2


@pytest.fixture
def cli_world(world: World, chain, tmp_path: Path, monkeypatch) -> World:
    """The CLI's state and deployments in tmp_path, its local network on the test chain."""
    monkeypatch.setenv("GPUBARTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("GPUBARTER_LOCAL_RPC_URL", chain.url)
    save_deployment(world.deployment, tmp_path / "deployments")
    return world


def test_finalize_command_runs_one_pass(
    cli_world: World, optimistic: None, tmp_path: Path, capsys
) -> None:
    world = cli_world
    job = world.acked_job(3_600)
    submit(world, [report(world, job, 4_200)], [world.gov.sender])
    db = tmp_path / "cli.sqlite"
    assert cli_main(["oracle", "finalize", "--db", str(db)]) == 0
    assert capsys.readouterr().out == "finalised 0 batch(es); 1 still in their challenge period\n"
    assert _used(world, job) == 0
    assert cli_main(["oracle", "status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "on-chain batches: 1 waiting to be finalised, 0 finalised" in out
    assert "challenged entries" not in out
    world.travel(PERIOD)
    assert cli_main(["oracle", "finalize", "--db", str(db)]) == 0
    assert capsys.readouterr().out == "finalised 1 batch(es); 0 still in their challenge period\n"
    assert _used(world, job) == 4
    assert cli_main(["oracle", "status", "--db", str(db), "--json"]) == 0
    assert '"final": 1' in capsys.readouterr().out


def test_finalize_command_says_what_holds_batches_and_challenges(
    cli_world: World, optimistic: None, tmp_path: Path, capsys
) -> None:
    """A challenge never holds its batch: the command tells batches in their period from batches Jobs
    refused, and challenges in their ruling window from those it lapsed or could not lapse."""
    world = cli_world
    oracle = oracle_of(world)
    db = tmp_path / "cli.sqlite"

    def finalize() -> str:
        assert cli_main(["oracle", "finalize", "--db", str(db)]) == 0
        return capsys.readouterr().out.strip()

    def status() -> tuple[str, dict]:
        assert cli_main(["oracle", "status", "--db", str(db)]) == 0
        text = capsys.readouterr().out
        assert cli_main(["oracle", "status", "--db", str(db), "--json"]) == 0
        return text, json.loads(capsys.readouterr().out)

    good, bad, batch, _entries = _challenged_batch(world)
    assert finalize() == ("finalised 0 batch(es); 1 still in their challenge period; "
                          "1 challenge(s) waiting for the arbiter's ruling")
    text, doc = status()
    assert "on-chain batches: 1 waiting to be finalised, 0 finalised" in text
    assert "challenged entries: 1 waiting for a ruling or a lapse, 0 settled" in text
    assert (doc["finalizations"], doc["challenges"]) == ({"pending": 1, "final": 0}, {"open": 1, "closed": 0})
    world.travel(PERIOD)
    _set_metering(world, False)  # Jobs refuses, for a reason that may pass
    assert finalize() == ("finalised 0 batch(es); 0 still in their challenge period; 1 due but not finalised "
                          "(see the log; tried again on the next pass); "
                          "1 challenge(s) waiting for the arbiter's ruling")
    assert (_used(world, good), _used(world, bad)) == (0, 0)
    _set_metering(world, True)
    assert finalize() == ("finalised 1 batch(es); 0 still in their challenge period; "
                          "1 challenge(s) waiting for the arbiter's ruling")
    assert (_used(world, good), _used(world, bad)) == (4, 0)
    world.travel_to(oracle.functions.resolveByOf(batch).call() + 1)
    _set_metering(world, False)
    assert finalize() == ("finalised 0 batch(es); 0 still in their challenge period; 1 challenge(s) past "
                          "their ruling window but not lapsed (see the log; tried again on the next pass)")
    _set_metering(world, True)
    assert finalize() == ("finalised 0 batch(es); 0 still in their challenge period; "
                          "lapsed 1 challenge(s) the arbiter left without a ruling")
    assert (_used(world, good), _used(world, bad)) == (4, 9)
    text, doc = status()
    assert "on-chain batches: 0 waiting to be finalised, 1 finalised" in text
    assert "challenged entries: 0 waiting for a ruling or a lapse, 1 settled" in text
    assert (doc["finalizations"], doc["challenges"]) == ({"pending": 0, "final": 1}, {"open": 0, "closed": 1})
    assert finalize() == "finalised 0 batch(es); 0 still in their challenge period"
