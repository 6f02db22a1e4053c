"""Threshold signatures on anvil: co-signers on 127.0.0.1 sign only what they can vouch for; the
submitter gathers a 2-of-3 quorum, refuses to send below it, backs off while a peer is down; and a
batch above the gas cap is split into several transactions."""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from compute_world import World
from metering_world import GPU, oracle_of, report

from gpubarter.chain.accounts import dev_account
from gpubarter.chain.tx import Sender
from oracle import reports as rep
from oracle.cosign import TOLERANCE_S, Policy, Refused, chain_running_for, serve
from oracle.meter import Signer
from oracle.meter_store import MeterStore
from oracle.quorum import request_body
from oracle.submit import SubmitOptions, Submitter

LOG = logging.getLogger("test.cosign")
PEERS = (7, 8)  # dev accounts of the two co-signers; the submitting node is account 0 (gov)


def _signer(world: World, index: int, contract: str | None = None) -> Signer:
    return Signer(dev_account(index), world.w3.eth.chain_id, contract or oracle_of(world).address)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _running_for(world: World, jobs: Any) -> Callable[[int], int | None]:
    """The chain lookup: JobAcknowledged logs 2 blocks per request, down to the Jobs deployment block."""
    return chain_running_for(world.w3, jobs, from_block=world.deployment.block_of("Jobs"), max_range=2)


@pytest.fixture
def two_of_three(world: World) -> list[str]:
    members = sorted([world.gov.sender.address, *(dev_account(i).address for i in PEERS)],
                     key=lambda a: int(a, 16))
    world.gov.sender.transact(oracle_of(world).functions.setSigners(members, 2))
    return members


@pytest.fixture
def start_peer(world: World, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``start(index, port=0, contract=None)`` -> the URL of a co-signer with dev key ``index``."""
    servers, policies = [], []
    jobs = world.deployment.contract(world.w3, "Jobs")

    def start(index: int, port: int = 0, contract: str | None = None) -> str:
        policy = Policy(tmp_path / f"cosign-{index}-{len(policies)}.sqlite", _signer(world, index, contract),
                        _running_for(world, jobs))
        server = serve(policy, port, LOG)
        servers.append(server)
        policies.append(policy)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    for policy in policies:
        policy.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MeterStore]:
    s = MeterStore(tmp_path / "meter.sqlite")
    yield s
    s.close()


def _queue(store: MeterStore, signer: Signer, reports: list[rep.UsageReport]) -> int:
    return store.add_batch(chain_id=signer.chain_id, verifying_contract=signer.verifying_contract,
                           digest=rep.batch_digest(signer.domain, reports), signer=signer.account.address,
                           signature=rep.sign_batch(signer.account, signer.domain, reports), simulated=True,
                           reports=reports)


def _submitter(world: World, store: MeterStore, peers: list[str], clock: Callable[[], float] = lambda: 0.0,
               gas_cap: int | None = None) -> Submitter:
    return Submitter(store, world.gov.sender, oracle_of(world), LOG, clock,
                     signer=_signer(world, 0), options=SubmitOptions(peers=peers, gas_cap=gas_cap))


def _running_job(world: World) -> int:
    """A job acknowledged 10 s ago (a co-signer bounds its first report by the time since then)."""
    job = world.acked_job(3_600)
    world.travel(10)
    return job


def _cumulative(world: World, job: int) -> int:
    return oracle_of(world).functions.cumulativeMs(job, rep.gpu_id(GPU)).call()


def _post(url: str, doc: object) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/v1/cosign", json.dumps(doc).encode(),
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_two_of_three_quorum_submits_with_two_peers(
    world: World, two_of_three: list[str], start_peer: Callable[..., str], store: MeterStore
) -> None:
    job = _running_job(world)
    batch = _queue(store, _signer(world, 0), [report(world, job, 2_000)])
    peers = [start_peer(i) for i in PEERS]
    sub = _submitter(world, store, peers)
    assert sub.pump() == 1
    assert store.batch(batch).state == "confirmed" and _cumulative(world, job) == 2_000
    # Only what the threshold needs was asked for and kept: our own signature and the first peer's.
    assert list(store.cosignatures(batch)) == [dev_account(PEERS[0]).address.lower()]


def test_below_quorum_is_refused_before_sending(
    world: World, two_of_three: list[str], start_peer: Callable[..., str], store: MeterStore
) -> None:
    job = _running_job(world)
    batch = _queue(store, _signer(world, 0), [report(world, job, 2_000)])
    wrong_contract = start_peer(PEERS[0], contract="0x" + "22" * 20)  # refuses our domain
    outsider = start_peer(5)  # signs, but is not in the signer set
    sub = _submitter(world, store, [wrong_contract, outsider])
    nonce = world.w3.eth.get_transaction_count(world.gov.sender.address)
    assert sub.pump() == 0
    assert store.batch(batch).state == "signed" and store.cosignatures(batch) == {}
    assert _cumulative(world, job) == 0
    assert world.w3.eth.get_transaction_count(world.gov.sender.address) == nonce  # nothing was sent
    assert sub.backoff_s == 1.0


def test_a_peer_down_backs_off_then_succeeds(
    world: World, two_of_three: list[str], start_peer: Callable[..., str], store: MeterStore, clock: Any
) -> None:
    job = _running_job(world)
    batch = _queue(store, _signer(world, 0), [report(world, job, 3_000)])
    port = _free_port()
    sub = _submitter(world, store, [f"http://127.0.0.1:{port}"], clock)
    assert sub.pump() == 0 and sub.backoff_s == 1.0
    clock.advance(0.5)
    assert sub.pump() == 0 and sub.backoff_s == 1.0  # still backing off: the peer was not asked
    clock.advance(0.5)
    assert sub.pump() == 0 and sub.backoff_s == 2.0  # asked again, still down: the wait doubles
    start_peer(PEERS[1], port=port)
    clock.advance(2.0)
    assert sub.pump() == 1 and sub.backoff_s == 0.0
    assert store.batch(batch).state == "confirmed" and _cumulative(world, job) == 3_000


def test_cosigner_refuses_what_it_cannot_vouch_for(
    world: World, start_peer: Callable[..., str], tmp_path: Path
) -> None:
    url = start_peer(PEERS[0])
    oracle = oracle_of(world).address
    chain = world.w3.eth.chain_id
    job = world.acked_job(3_600)
    now = world.now()
    first = report(world, job, 1_000, end=now)
    ok = json.loads(request_body(chain, oracle, (first,)))

    def refused(doc: object, why: str) -> None:
        status, answer = _post(url, doc)
        assert status == 422 and why in answer["error"], answer
        assert "key" not in json.dumps(answer).lower()

    refused({**ok, "chain_id": chain + 1}, "not chain")
    refused({**ok, "verifying_contract": "0x" + "33" * 20}, "not chain")
    refused({**ok, "reports": "x"}, "must be a list")
    refused({**ok, "reports": [{**ok["reports"][0], "sm_active_ms": 5_000}]}, "malformed report")
    refused(json.loads(request_body(chain, oracle, (report(world, job, 1_000, end=now + 3_600),))), "future")
    unacked = world.open_job(3_600)
    refused(json.loads(request_body(chain, oracle, (report(world, unacked, 1_000, end=now),))),
            "not running on-chain")
    # More GPU-ms than have passed since the job was acknowledged (one GPU).
    refused(json.loads(request_body(chain, oracle, (report(world, job, 600_000, end=now),))),
            "since it was acknowledged")
    status, answer = _post(url, ok)
    assert status == 200 and answer["signer"] == dev_account(PEERS[0]).address
    assert rep.batch_digest(rep.domain(chain, oracle), [first]) and len(answer["signature"]) == 132
    assert _post(url, ok) == (200, answer)  # the same batch again: the same signature, nothing new
    # Against what it signed last: a decrease (a replay of older usage) and growth beyond wall time.
    refused(json.loads(request_body(chain, oracle, (report(world, job, 500, end=now),))), "went back")
    too_fast = report(world, job, 1_000 + (10 + TOLERANCE_S) * 1_000 + 1, end=now + 10)
    refused(json.loads(request_body(chain, oracle, (too_fast,))), "grew by")
    fine = report(world, job, 1_000 + 10_000, end=now + 10)
    assert _post(url, json.loads(request_body(chain, oracle, (fine,))))[0] == 200
    # Counters equal to the last signed (a split batch repeats them) add nothing and are signed.
    assert _post(url, json.loads(request_body(chain, oracle, (fine, fine))))[0] == 200


def test_policy_refusals_leave_its_state_unchanged(world: World, tmp_path: Path) -> None:
    jobs = world.deployment.contract(world.w3, "Jobs")
    policy = Policy(tmp_path / "c.sqlite", _signer(world, PEERS[0]), _running_for(world, jobs))
    try:
        job = world.acked_job(3_600)
        now = world.now()
        good = report(world, job, 1_000, end=now)
        bad = report(world, job, 999_000, end=now)
        doc = json.loads(request_body(world.w3.eth.chain_id, oracle_of(world).address, (good, bad)))
        with pytest.raises(Refused):
            policy.sign(doc)
        assert policy.db.execute("SELECT COUNT(*) FROM signed_reports").fetchone() == (0,)
        assert policy.db.execute("SELECT COUNT(*) FROM signed_batches").fetchone() == (0,)
        assert "PRIVATE" not in repr(policy.signer).upper() and dev_account(PEERS[0]).key.hex() not in repr(
            policy.signer)
    finally:
        policy.close()


def test_a_batch_above_the_gas_cap_is_split_into_several_transactions(
    world: World, store: MeterStore, accounts: list[Sender]
) -> None:
    jobs = [world.acked_job(3_600) for _ in range(6)]
    batch = _queue(store, _signer(world, 0), [report(world, j, 2_000) for j in jobs])
    oracle = oracle_of(world)
    call = oracle.functions.submit([r.as_tuple() for r in store.batch(batch).reports],
                                   [bytes.fromhex(store.batch(batch).signature[2:])])
    whole = world.w3.eth.estimate_gas(call.build_transaction({"from": world.gov.sender.address}))
    cap = int(whole * 0.6)
    sub = _submitter(world, store, [], gas_cap=cap)
    assert sub.pump() >= 2
    states = [(b.state, len(b.reports)) for b in store.batches()]
    assert states[0] == ("split", 6)
    parts = store.batches("confirmed")
    assert len(parts) >= 2 and sum(len(b.reports) for b in parts) == 6
    for b in parts:  # each transaction within the cap
        assert world.w3.eth.get_transaction_receipt(b.tx_hash)["gasUsed"] <= cap
    assert [world.holder.job(j).used_seconds for j in jobs] == [2] * 6
    assert [oracle.functions.cumulativeMs(j, rep.gpu_id(GPU)).call() for j in jobs] == [2_000] * 6


RUN = ["run", "--backend", "simulated", "--no-metrics", "--chain-id", "31337", "--verifying-contract",
       "0x" + "11" * 20, "--submit", "--duration", "1"]


@pytest.mark.parametrize(("argv", "message"), [
    ([*RUN, "--gas-cap", "0"], "--gas-cap must be positive"),
    ([*RUN, "--peer", "127.0.0.1:9470"], "--peer must be an http(s) URL"),
    (["cosign", "--port", "70000"], "--port must be 0..65535"),
    (["finalize", "--confirmations", "-1"], "--confirmations must not be negative"),
])
def test_bad_cli_input_is_refused_with_one_line_and_stores_nothing(
    argv: list[str], message: str, tmp_path: Path, capsys: Any, monkeypatch: Any, world: World
) -> None:
    from cli import main as cli_main
    from gpubarter.deployment_record import save_deployment

    monkeypatch.setenv("GPUBARTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    save_deployment(world.deployment, tmp_path / "deployments")
    db = tmp_path / "meter.sqlite"
    assert cli_main(["oracle", *argv, "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: ") and message in err and "Traceback" not in err
    if db.exists():
        store = MeterStore(db)
        try:
            assert store.batches() == [] and store.queue_counts()["signed"] == 0
        finally:
            store.close()


def test_a_node_down_backs_off_and_keeps_the_batch(world: World, store: MeterStore, clock: Any) -> None:
    from web3 import Web3

    from gpubarter.chain.contracts import contract_at

    job = _running_job(world)
    batch = _queue(store, _signer(world, 0), [report(world, job, 1_000)])
    dead = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{_free_port()}", request_kwargs={"timeout": 2}))
    oracle = oracle_of(world)
    sub = Submitter(store, Sender(dead, dev_account(0)), contract_at(dead, "MeteringOracle", oracle.address),
                    LOG, clock, signer=_signer(world, 0))
    assert sub.pump() == 0 and sub.backoff_s == 1.0
    assert store.batch(batch).state == "signed" and _cumulative(world, job) == 0
    clock.advance(1.0)
    live = _submitter(world, store, [], clock)  # the node is back (a restart of the daemon, or the same)
    assert live.pump() == 1 and store.batch(batch).state == "confirmed" and _cumulative(world, job) == 1_000
