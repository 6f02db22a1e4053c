"""The key agents on anvil with a real vault (embedded content store): the cooperative's agent
releases each key as its step falls due and settles the deal once it can, the provider's agent opens
every shard, a wrong key is disputed and won, the provider's clock duties run whatever happens to the
opening of keys, and both refuse setups they must not work with."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from escrow_world import BOND, GPU_SECONDS, EscrowWorld, K
from waiting import wait_for

from backend.agents.base import ACCEPTED, FAULTED, SETTLED, AgentError, AgentLog, retrying, run_loop
from backend.agents.coop import CoopKeyAgent
from backend.agents.provider import ProviderAgent
from backend.vault.embedded_store import EmbeddedStore
from backend.vault.errors import StoreUnavailable
from backend.vault.keystore import KeyStore
from backend.vault.seal import SealResult, seal_dataset
from gpubarter.errors import ChainError, TransactionReverted

STEP = GPU_SECONDS // K


@dataclass
class Agents:
    ew: EscrowWorld
    sealed: SealResult
    source: Path
    dataset_id: int
    store: EmbeddedStore
    keystore: KeyStore
    tmp: Path

    def coop_agent(self, keystore: KeyStore | None = None) -> CoopKeyAgent:
        return CoopKeyAgent(self.ew.admin, self.ew.coop, keystore or self.keystore, self.tmp / "coop-state",
                            AgentLog("coop"))

    def provider_agent(self) -> ProviderAgent:
        return ProviderAgent(self.ew.provider, self.tmp / "provider-keys", self.store, self.tmp / "shards",
                             self.tmp / "provider-state", AgentLog("provider"))

    def offer(self) -> int:
        return self.ew.offer(dataset_id=self.dataset_id)


@pytest.fixture
def agents(ew: EscrowWorld, tmp_path: Path) -> Agents:
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(40_000))
    store, keystore = EmbeddedStore(tmp_path / "store"), KeyStore(tmp_path / "keys")
    sealed = seal_dataset(source, K, store, keystore, kind="bytes")
    dataset_id = ew.admin.register_dataset(
        ew.coop, sealed.manifest_cid, [bytes.fromhex(c[2:]) for c in sealed.commitments],
        bytes.fromhex(sealed.manifest.merkle_root[2:]), b"\x00" * 32).value
    return Agents(ew, sealed, source, dataset_id, store, keystore, tmp_path)


def test_agents_release_and_open_every_step_as_it_falls_due(agents: Agents) -> None:
    a, ew = agents, agents.ew
    coop, provider = a.coop_agent(), a.provider_agent()
    deal_id = a.offer()
    series_id, _ = provider.accept(deal_id)
    key_file = a.tmp / "provider-keys" / f"deal-{deal_id}.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert coop.poll_once() == [] and provider.poll_once() == []  # nothing due yet
    for step in range(1, K + 1):
        ew.deliver(series_id, STEP)
        releases = coop.poll_once()
        assert [(r.deal_id, r.step) for r in releases] == [(deal_id, step)] and releases[0].gas < 70_000
        assert coop.poll_once() == []  # idempotent: released once
        assert [(o.step, o.outcome) for o in provider.poll_once()] == [(step, "opened")]
    shards = b"".join((a.tmp / "shards" / f"deal-{deal_id}" / f"shard-{i}").read_bytes() for i in range(K))
    assert shards == a.source.read_bytes()
    # Restarted agents (new objects, same files) find nothing left to do.
    assert a.coop_agent().poll_once() == [] and a.provider_agent().poll_once() == []
    logged = str(coop.log.records) + str(provider.log.records)
    assert hex(provider.keys.pair(deal_id).secret)[2:] not in logged
    assert all(k.hex() not in logged for k in a.keystore.load(a.sealed.manifest_cid))


def test_provider_agent_disputes_a_wrong_key_and_wins_the_bond(agents: Agents) -> None:
    a, ew = agents, agents.ew
    provider = a.provider_agent()
    deal_id = a.offer()
    series_id, _ = provider.accept(deal_id)
    ew.deliver(series_id, STEP)
    pair = provider.keys.pair(deal_id)
    ew.pairs[deal_id] = pair
    ew.release(deal_id, 1, key=os.urandom(32))  # a cooperative cheating (or broken)
    before = ew.cpt(ew.provider.sender.address)
    outcomes = provider.poll_once()
    assert [(o.step, o.outcome) for o in outcomes] == [(1, "disputed")]
    assert ew.gov.deal_info(deal_id).status == FAULTED
    assert ew.cpt(ew.provider.sender.address) > before  # the cooperative's bond
    assert not (a.tmp / "shards" / f"deal-{deal_id}" / "shard-0").exists()
    assert provider.log.named("dispute filed")[0]["won"] is True
    assert a.provider_agent().poll_once() == []  # the deal is over: nothing more to do


def test_key_agent_refuses_a_key_store_with_another_owners_dataset(agents: Agents) -> None:
    a, ew = agents, agents.ew
    foreign_store = KeyStore(a.tmp / "foreign-keys")
    other = seal_dataset(a.source, K, a.store, foreign_store, kind="bytes", name="someone else's")
    registry = ew.other.datasets.functions
    ew.other.sender.transact(registry.register(
        other.manifest_cid, K, [bytes.fromhex(c[2:]) for c in other.commitments],
        bytes.fromhex(other.manifest.merkle_root[2:]), b"\x00" * 32))
    for path in foreign_store.root.glob("*.json"):
        (a.keystore.root / path.name).write_bytes(path.read_bytes())
        os.chmod(a.keystore.root / path.name, 0o600)
    with pytest.raises(AgentError, match="not by cooperative"):
        a.coop_agent()


def test_key_agent_refuses_a_signer_without_the_key_agent_role(agents: Agents) -> None:
    a, ew = agents, agents.ew
    with pytest.raises(AgentError, match="KEY_AGENT_ROLE"):
        CoopKeyAgent(ew.other, ew.coop, a.keystore, a.tmp / "s", AgentLog("coop"))


def test_key_agent_does_not_release_a_key_that_does_not_match_its_commitment(agents: Agents) -> None:
    a, ew = agents, agents.ew
    provider = a.provider_agent()
    deal_id = a.offer()
    series_id, _ = provider.accept(deal_id)
    keys = a.keystore.load(a.sealed.manifest_cid)
    a.keystore.save(a.sealed.manifest_cid, [os.urandom(32), *keys[1:]])  # a corrupted key store
    ew.deliver(series_id, STEP)
    coop = a.coop_agent()
    assert coop.poll_once() == []
    assert "does not match its on-chain commitment" in coop.log.named("release failed")[0]["error"]
    assert ew.gov.deal_info(deal_id).released == 0


def test_provider_agent_marks_a_due_step_and_takes_the_bond_when_its_key_never_comes(agents: Agents) -> None:
    a, ew = agents, agents.ew
    provider = a.provider_agent()
    deal_id = a.offer()
    series_id, _ = provider.accept(deal_id)
    ew.deliver(series_id, STEP)
    assert provider.poll_once() == []
    info = ew.gov.deal_info(deal_id)
    assert info.due_since > 0 and provider.log.named("step marked due")
    provider.poll_once()  # within the timeout: nothing more
    assert ew.gov.deal_info(deal_id).status == info.status
    before = ew.cpt(ew.provider.sender.address)
    ew.travel(info.key_timeout_s + 1)
    ew.w3.provider.make_request("evm_mine", [])
    provider.poll_once()
    assert ew.gov.deal_info(deal_id).status == FAULTED
    assert ew.cpt(ew.provider.sender.address) == before + info.bond_wei


class DownStore:
    """A shard store that is down: every read raises ``error`` (a store that does not wrap its client's
    errors raises the client's own)."""

    location = "http://127.0.0.1:5001"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def writer(self, size_hint: int | None = None) -> None:
        raise self.error

    def cat(self, cid: str) -> Iterator[bytes]:
        raise self.error

    def has(self, cid: str) -> bool:
        raise self.error


def _store_down(agent: ProviderAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent, "store", DownStore(ConnectionError("IPFS API at 127.0.0.1:5001 refused")))


def _store_unavailable(agent: ProviderAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent, "store", DownStore(StoreUnavailable("cannot reach an IPFS node")))


def _logs_unavailable(agent: ProviderAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    def released_key(*_args: object) -> None:
        raise ChainError("eth_getLogs: block range too large")

    monkeypatch.setattr(agent.client, "released_key", released_key)


Breaker = Callable[[ProviderAgent, pytest.MonkeyPatch], None]


@pytest.mark.parametrize("broken", [_store_down, _store_unavailable, _logs_unavailable],
                         ids=["ipfs-down", "store-unavailable", "logs-unavailable"])
def test_provider_agent_runs_its_clock_duties_when_a_released_key_cannot_be_opened(
    agents: Agents, monkeypatch: pytest.MonkeyPatch, broken: Breaker
) -> None:
    a, ew = agents, agents.ew
    provider = a.provider_agent()
    deal_id = a.offer()
    series_id, _ = provider.accept(deal_id)
    ew.pairs[deal_id] = provider.keys.pair(deal_id)
    ew.deliver(series_id, STEP)
    ew.release(deal_id, 1, key=a.keystore.key(a.sealed.manifest_cid, 0))
    ew.deliver(series_id, STEP)  # step 2 falls due after key 1: nobody marked it
    broken(provider, monkeypatch)

    assert provider.poll_once() == []  # key 1 cannot be opened ...
    assert provider.log.named("shard not opened; will retry") or provider.log.named("deal step failed")
    info = ew.gov.deal_info(deal_id)
    assert info.due_since > 0  # ... and step 2's clock runs all the same
    assert provider.log.named("step marked due")[0]["step"] == 2
    before = ew.cpt(ew.provider.sender.address)
    ew.travel(info.key_timeout_s + 1)
    assert provider.poll_once() == []
    assert ew.gov.deal_info(deal_id).status == FAULTED  # the cooperative never released key 2
    assert ew.cpt(ew.provider.sender.address) == before + BOND

    # Once the store is back, the key released before the fault is still opened.
    monkeypatch.undo()
    assert [(o.step, o.outcome) for o in provider.poll_once()] == [(1, "opened")]
    assert (a.tmp / "shards" / f"deal-{deal_id}" / "shard-0").exists()
    assert a.provider_agent().poll_once() == []  # nothing left to do: the deal is no longer watched


def test_provider_agent_disputes_a_wrong_key_and_marks_other_deals_due_while_the_store_is_down(
    agents: Agents, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, ew = agents, agents.ew
    provider = a.provider_agent()
    cheated, other = a.offer(), a.offer()
    cheated_series, _ = provider.accept(cheated)
    other_series, _ = provider.accept(other)
    ew.pairs[cheated] = provider.keys.pair(cheated)
    ew.deliver(cheated_series, STEP)
    ew.release(cheated, 1, key=os.urandom(32))  # a key that does not match its commitment
    ew.deliver(other_series, STEP)
    _store_down(provider, monkeypatch)
    before = ew.cpt(ew.provider.sender.address)

    assert [(o.deal_id, o.step, o.outcome) for o in provider.poll_once()] == [(cheated, 1, "disputed")]
    assert ew.gov.deal_info(cheated).status == FAULTED and ew.cpt(ew.provider.sender.address) == before + BOND
    assert ew.gov.deal_info(other).due_since > 0 and ew.gov.deal_info(other).status == ACCEPTED
    assert provider.keys.load(cheated)["wrong_steps"] == [1]
    assert provider.poll_once() == []  # never disputed twice


def test_key_agent_settles_a_deal_once_it_can_and_the_provider_still_opens_every_key(agents: Agents) -> None:
    a, ew = agents, agents.ew
    provider = a.provider_agent()
    provider.poll_once()  # the provider's agent scanned the deals before this one was offered
    deal_id = a.offer()
    series_id, _ = provider.accept(deal_id)
    coop = a.coop_agent()
    ew.deliver(series_id, GPU_SECONDS)
    assert [r.step for r in coop.poll_once()] == list(range(1, K + 1))
    ew.travel_to(ew.gov.deal_info(deal_id).end)
    assert coop.poll_once() == [] and ew.gov.deal_info(deal_id).status == ACCEPTED  # usage may still land
    before = ew.cpt(ew.coop)
    ew.travel_to(ew.settles_at(deal_id))
    coop.poll_once()
    assert ew.gov.deal_info(deal_id).status == SETTLED and ew.cpt(ew.coop) == before + BOND
    assert coop.log.named("deal settled; bond returned")[0]["deal"] == deal_id
    # The deal settled before the provider's agent came round: it opens every released key all the same.
    assert [(o.step, o.outcome) for o in provider.poll_once()] == [(s, "opened") for s in range(1, K + 1)]
    shards = b"".join((a.tmp / "shards" / f"deal-{deal_id}" / f"shard-{i}").read_bytes() for i in range(K))
    assert shards == a.source.read_bytes()
    assert a.provider_agent().poll_once() == [] and a.coop_agent().poll_once() == []


def test_agent_loop_runs_until_stopped_and_releases_as_steps_fall_due(agents: Agents) -> None:
    a, ew = agents, agents.ew
    provider = a.provider_agent()
    deal_id = a.offer()
    series_id, _ = provider.accept(deal_id)
    coop = a.coop_agent()
    stop = threading.Event()
    worker = threading.Thread(target=coop.run, args=(stop,), kwargs={"interval_s": 0.05})
    worker.start()
    try:
        ew.deliver(series_id, 2 * STEP)
        wait_for("two keys released", lambda: ew.gov.deal_info(deal_id).released == 2, timeout=30)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert [r["event"] for r in coop.log.records][-1] == "stopped"


def test_run_loop_backs_off_on_transient_errors_and_stops_on_others() -> None:
    log = AgentLog("test")
    stop = threading.Event()
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("node unreachable")
        stop.set()

    run_loop(flaky, stop, log, interval_s=0.01)
    waits = [r["wait_s"] for r in log.named("poll failed; backing off")]
    assert len(calls) == 3 and waits == [0.02, 0.04]

    def broken() -> None:
        raise AgentError("keys of another cooperative")

    with pytest.raises(AgentError):
        run_loop(broken, threading.Event(), log, interval_s=0.01)
    assert log.records[-1]["event"] == "stopped on error"


def test_retrying_retries_transient_failures_only() -> None:
    log, slept, tries = AgentLog("test"), [], []

    def send() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise TimeoutError("no receipt yet")
        return "sent"

    assert retrying("release", send, log, sleep=slept.append) == "sent" and slept == [0.5, 1.0]

    def refused() -> str:
        raise TransactionReverted("EscrowStepNotDue(dealId=1, step=1, delivered=0, needed=9000)")

    with pytest.raises(TransactionReverted):
        retrying("release", refused, log, sleep=slept.append)
    assert slept == [0.5, 1.0]
