"""A cooperative and a provider barter through ``gpubarter coop|deal|agent`` on a local chain; every
refusal is one clear line, exit status 1, and changes nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import Cli, in_process_cli
from compute_world import SPEC
from escrow_world import BOND, GPU_SECONDS, KEY_TIMEOUT, EscrowWorld, K
from waiting import wait_for

from cli.commands._compute import fmt_time
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.deployment_record import save_deployment
from gpubarter.protocol import sealing

GOV, ADMIN, PROVIDER, M1, M2, M3, METER, OTHER = range(8)
DEAL_ID = re.compile(r"as deal (\d+)")
DATASET_ID = re.compile(r"registered dataset (\d+)")

@pytest.fixture
def gpubarter(ew: EscrowWorld, chain: LocalChain, tmp_path: Path, monkeypatch, capsys) -> Iterator[Cli]:
    """``gpubarter ARGS`` in-process as dev account ``who``; checks the exit status; returns the output."""
    yield from in_process_cli(ew.deployment, chain, tmp_path, monkeypatch, capsys, one_line_errors=True)


def _sealed_dataset(gpubarter: Cli, ew: EscrowWorld, tmp_path: Path) -> tuple[int, Path]:
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(20_000))
    sealed = gpubarter(ADMIN, "dataset", "seal", str(data), "--k", str(K))
    cid = re.search(r"manifest CID: (\S+)", sealed)
    assert cid, sealed
    out = gpubarter(ADMIN, "coop", "register", ew.coop, cid.group(1))
    return int(DATASET_ID.search(out).group(1)), data


def test_a_deal_from_offer_to_every_key_through_the_cli(
    ew: EscrowWorld, gpubarter: Cli, tmp_path: Path
) -> None:
    dataset_id, data = _sealed_dataset(gpubarter, ew, tmp_path)
    out = gpubarter(
        ADMIN, "deal", "offer", ew.coop, str(dataset_id), "--hours", "10", "--class", "1", "--bond", "50"
    )
    deal_id = int(DEAL_ID.search(out).group(1))
    keys = tmp_path / "provider-keys"
    out = gpubarter(PROVIDER, "deal", "accept", str(deal_id), "--key-dir", str(keys))
    assert f"accepted deal {deal_id}" in out
    assert oct((keys / f"deal-{deal_id}.json").stat().st_mode & 0o777) == "0o600"
    shown = gpubarter(OTHER, "deal", "show", str(deal_id))
    assert "accepted" in shown and f"0 of {K} keys released" in shown and "1 due at 9,000 GPU-s" in shown

    series_id = ew.gov.deal_info(deal_id).series_id
    claimed = gpubarter(M3, "coop", "claim", ew.coop)
    assert f"claimed 5 GPU-h (18,000 GPU-s) of series {series_id}" in claimed
    assert "nothing to claim" in gpubarter(M3, "coop", "claim", ew.coop, ok=False)
    for who in (M1, M2):
        gpubarter(who, "coop", "claim", ew.coop)
    ew.deliver(series_id, GPU_SECONDS // K)

    early = gpubarter(ADMIN, "deal", "release", ew.coop, str(deal_id), "2", ok=False)
    assert "EscrowStepOutOfOrder" in early
    assert "released the key of step 1" in gpubarter(ADMIN, "deal", "release", ew.coop, str(deal_id), "1")
    refused = gpubarter(PROVIDER, "deal", "dispute", str(deal_id), "1", "--key-dir", str(keys), ok=False)
    assert "matches its commitment" in refused and ew.gov.deal_info(deal_id).status == 3

    ew.deliver(series_id, 3 * GPU_SECONDS // K)
    gpubarter(ADMIN, "agent", "coop", ew.coop, "--once", "--state-dir", str(tmp_path / "coop-agent"))
    assert ew.gov.deal_info(deal_id).released == K
    gpubarter(
        PROVIDER,
        "agent",
        "provider",
        "--once",
        "--key-dir",
        str(keys),
        "--out",
        str(tmp_path / "out"),
        "--state-dir",
        str(tmp_path / "provider-agent"),
    )
    opened = b"".join((tmp_path / "out" / f"deal-{deal_id}" / f"shard-{i}").read_bytes() for i in range(K))
    assert opened == data.read_bytes()
    assert f"{K} of {K} keys released" in gpubarter(OTHER, "deal", "show", str(deal_id))


def test_coop_commands_refuse_bad_members(ew: EscrowWorld, gpubarter: Cli) -> None:
    created = gpubarter(ADMIN, "coop", "create", "Riverbank")
    coop = re.search(r"cooperative (0x[0-9a-fA-F]{40})", created).group(1)
    member = dev_account(M1).address
    gpubarter(ADMIN, "coop", "add-member", coop, member, "3")
    shares = ew.gov.cooperative(coop).functions.totalShares().call
    assert shares() == 3
    assert "already a member with 3 shares" in gpubarter(
        ADMIN, "coop", "add-member", coop, member, "1", ok=False
    )
    assert "at least 1 share" in gpubarter(
        ADMIN, "coop", "add-member", coop, dev_account(M2).address, "0", ok=False
    )
    assert "AccessControlUnauthorizedAccount" in gpubarter(
        OTHER, "coop", "set-shares", coop, member, "9", ok=False
    )
    assert "not an Ethereum address" in gpubarter(ADMIN, "coop", "set-shares", coop, "0x12", "1", ok=False)
    assert "not a member" in gpubarter(OTHER, "coop", "claim", coop, ok=False)
    assert shares() == 3
    gpubarter(ADMIN, "coop", "set-shares", coop, member, "0")
    assert shares() == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--steps", "0"), "EscrowZeroSteps"),
        (("--steps", str(K + 1)), "EscrowStepCountMismatch"),
        (("--start", "1000", "--end", "2000"), "EscrowInvalidWindow"),
        (("--bond", "1"), "EscrowBondTooLow"),
        (("--key-timeout", "59m"), "EscrowKeyTimeoutTooShort"),
    ],
)
def test_deal_offer_refuses_bad_terms(
    ew: EscrowWorld, gpubarter: Cli, args: tuple[str, ...], error: str
) -> None:
    count, coop_cpt = ew.escrow.functions.dealCount().call(), ew.cpt(ew.coop)
    base = {"--bond": "50"}
    flags = [*args] + [x for k, v in base.items() if k not in args for x in (k, v)]
    out = gpubarter(
        ADMIN, "deal", "offer", ew.coop, str(ew.dataset_id), "--hours", "10", "--class", "1", *flags, ok=False
    )
    assert error in out
    assert (ew.escrow.functions.dealCount().call(), ew.cpt(ew.coop)) == (count, coop_cpt)


def test_deal_offer_refuses_a_dataset_the_cooperative_does_not_own(ew: EscrowWorld, gpubarter: Cli) -> None:
    ew.other.sender.transact(
        ew.other.datasets.functions.register(
            "bafkreiother",
            K,
            [sealing.commitment(bytes([i]) * 32) for i in range(K)],
            b"\x01" * 32,
            b"\x00" * 32,
        )
    )
    other_id = ew.other.datasets.functions.datasetCount().call()
    count = ew.escrow.functions.dealCount().call()
    out = gpubarter(
        ADMIN,
        "deal",
        "offer",
        ew.coop,
        str(other_id),
        "--hours",
        "1",
        "--class",
        "1",
        "--bond",
        "50",
        ok=False,
    )
    assert "EscrowNotDatasetOwner" in out and ew.escrow.functions.dealCount().call() == count


def test_deal_accept_refuses_twice_and_without_free_stake(
    ew: EscrowWorld, gpubarter: Cli, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    deal_id = ew.offer()
    gpubarter(PROVIDER, "deal", "accept", str(deal_id), "--key-dir", str(keys))
    key_file = (keys / f"deal-{deal_id}.json").read_bytes()
    series = ew.gov.credits.functions.seriesCount().call()
    assert "EscrowInvalidStatus" in gpubarter(
        PROVIDER, "deal", "accept", str(deal_id), "--key-dir", str(keys), ok=False
    )
    assert (keys / f"deal-{deal_id}.json").read_bytes() == key_file  # the deal's secret is kept
    big = ew.offer(gpu_seconds=10**12)
    out = gpubarter(PROVIDER, "deal", "accept", str(big), "--key-dir", str(keys), ok=False)
    assert "ProviderRegistryInsufficientFreeStake" in out
    assert ew.gov.credits.functions.seriesCount().call() == series and ew.gov.deal_info(big).status == 1
    assert "deal id must be a positive integer" in gpubarter(PROVIDER, "deal", "accept", "0", ok=False)
    assert "EscrowUnknownDeal" in gpubarter(OTHER, "deal", "show", "999", ok=False)


def test_deal_settle_says_from_when_and_what_is_missing_then_returns_the_bond(
    ew: EscrowWorld, gpubarter: Cli
) -> None:
    deal_id, series_id = ew.accepted()
    step = GPU_SECONDS // K
    ew.deliver(series_id, step)
    ew.release(deal_id, 1)
    ew.deliver(series_id, step)  # step 2 is due, and nobody marked it
    job = ew.members[0].open_job(series_id, 600, SPEC).value  # the member whose credits delivery left
    ew.provider.acknowledge(job)
    ew.meter.sender.transact(ew.meter.jobs.functions.hold(job))  # a challenged usage entry
    deal, at = str(deal_id), ew.settles_at(deal_id)

    def status() -> tuple[int, int]:
        return ew.gov.deal_info(deal_id).status, ew.cpt(ew.coop)

    before = status()
    early = gpubarter(OTHER, "deal", "settle", deal, ok=False)
    assert f"deal {deal_id} can settle from {fmt_time(at)}" in early
    shown = gpubarter(OTHER, "deal", "show", deal)
    assert f"from {fmt_time(at)}" in shown and "keys outstanding: step 2" in shown

    ew.travel_to(at)
    assert "1 challenged usage entries of series" in gpubarter(OTHER, "deal", "settle", deal, ok=False)
    ew.meter.sender.transact(ew.meter.jobs.functions.releaseHold(job, 0))
    owed = gpubarter(OTHER, "deal", "settle", deal, ok=False)
    assert "1 of its 2 due keys are released (outstanding: step 2)" in owed
    assert f"gpubarter deal release {ew.coop} {deal_id} 2" in owed and f"deal mark-due {deal_id}" in owed
    marked = gpubarter(OTHER, "deal", "mark-due", deal)
    by = fmt_time(ew.gov.deal_info(deal_id).due_since + KEY_TIMEOUT)
    assert f"marked step 2 of deal {deal_id} due" in marked and by in marked
    owed = gpubarter(OTHER, "deal", "settle", deal, ok=False)
    assert f"releases its key by {by}" in owed and f"deal claim-timeout {deal_id}" in owed
    assert "EscrowKeyTimeoutNotReached" in gpubarter(OTHER, "deal", "claim-timeout", deal, ok=False)
    assert status() == before

    ew.release(deal_id, 2)
    # The provider keeps one key timeout to dispute the key just released.
    later = gpubarter(OTHER, "deal", "settle", deal, ok=False)
    assert f"can settle from {fmt_time(ew.settles_at(deal_id))}" in later and "dispute the last key" in later
    ew.travel_to(ew.settles_at(deal_id))
    out = gpubarter(OTHER, "deal", "settle", deal)
    assert f"settled deal {deal_id}" in out and f"returned to {ew.coop}" in out
    assert status() == (5, before[1] + BOND)
    assert "is settled: only an accepted deal settles" in gpubarter(OTHER, "deal", "settle", deal, ok=False)


def test_deal_claim_timeout_pays_the_bond_to_the_provider(ew: EscrowWorld, gpubarter: Cli) -> None:
    deal_id, series_id = ew.accepted()
    assert "EscrowStepNotDue" in gpubarter(PROVIDER, "deal", "mark-due", str(deal_id), ok=False)
    ew.deliver(series_id, GPU_SECONDS // K)
    gpubarter(PROVIDER, "deal", "mark-due", str(deal_id))
    ew.travel(KEY_TIMEOUT + 1)
    before = ew.cpt(ew.provider.sender.address)
    out = gpubarter(OTHER, "deal", "claim-timeout", str(deal_id))
    assert "went to the provider" in out and f"series {series_id} is frozen" in out
    assert ew.cpt(ew.provider.sender.address) == before + BOND
    assert ew.gov.deal_info(deal_id).status == 4


def test_agent_command_runs_as_a_child_process_until_sigterm(
    ew: EscrowWorld, chain: LocalChain, cli_env: dict[str, str], tmp_path: Path
) -> None:
    save_deployment(ew.deployment, Path(cli_env["GPUBARTER_DEPLOYMENTS_DIR"]))
    key = "0x" + bytes(dev_account(ADMIN).key).hex()
    env = {**cli_env, "GPUBARTER_LOCAL_RPC_URL": chain.url, "GPUBARTER_PRIVATE_KEY": key}
    log = tmp_path / "agent.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "agent", "coop", ew.coop, "--interval", "0.2"],
            env=env, stdout=subprocess.DEVNULL, stderr=err,
        )
    try:
        wait_for("the agent's first polls", lambda: log.read_text().count('"event":"started"'), timeout=60)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events[0] == "started" and events[-1] == "stopped"
    assert key[2:] not in log.read_text()
