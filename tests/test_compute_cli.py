"""The CLI walks a provider from registration to a served job on a local chain."""

from __future__ import annotations

import re

import pytest
from compute_world import ACK_TIMEOUT_OF_H100, World

from cli import main
from gpubarter.chain.accounts import dev_account
from gpubarter.deploy_plan import WAD
from gpubarter.protocol.types import JobStatus

TX_LINE = re.compile(r"tx 0x[0-9a-f]{64} \(block \d+, gas [\d,]+\)")


def test_cli_walks_provider_from_registration_to_served_job(world: World, gpubarter) -> None:
    newcomer, holder, meter = 6, 2, 4
    world.gov.sender.transact(
        world.gov.token.functions.transfer(dev_account(newcomer).address, 5_000 * WAD)
    )

    out = gpubarter(newcomer, "provider", "register", "bafkreinewcomermetadata")
    assert TX_LINE.search(out) and "registered" in out
    out = gpubarter(newcomer, "provider", "stake", "2000")
    assert len(TX_LINE.findall(out)) == 2  # approve + stake, each with hash and gas
    assert "2,000 CPT" in out

    out = gpubarter(newcomer, "series", "create", "--class", "nvidia-h100-80gb", "--end", "+30d")
    series_id = int(re.search(r"created series (\d+)", out).group(1))
    out = gpubarter(
        newcomer, "series", "mint", str(series_id), "10", "--to", dev_account(holder).address
    )
    assert TX_LINE.search(out) and "10 GPU-h (36,000 GPU-s)" in out

    out = gpubarter(holder, "job", "open", str(series_id), "1.5", "--spec", "bafkreijobspec")
    job_id = int(re.search(r"opened job (\d+)", out).group(1))
    assert TX_LINE.search(out) and "1.5 GPU-h (5,400 GPU-s)" in out
    assert TX_LINE.search(gpubarter(newcomer, "job", "ack", str(job_id)))
    out = gpubarter(meter, "job", "apply-usage", str(job_id), "1.5")
    assert TX_LINE.search(out) and "served" in out

    assert world.holder.job(job_id).status is JobStatus.SERVED
    out = gpubarter(holder, "series", "show", str(series_id))
    assert "delivered" in out and "1.5 GPU-h (5,400 GPU-s)" in out and "8.5 GPU-h" in out
    assert '"gpu_class": "nvidia-h100-80gb"' in gpubarter(
        holder, "series", "show", str(series_id), "--json"
    )

    # Unstake what is free, wait out the unbonding period, withdraw.
    assert TX_LINE.search(gpubarter(newcomer, "provider", "unstake", "100"))
    world.travel(world.gov.registry.functions.unbondingPeriod().call())
    assert "withdrew 100 CPT" in gpubarter(newcomer, "provider", "withdraw")


def test_cli_refusals_print_one_line_and_change_nothing(world: World, gpubarter) -> None:
    job_id = world.open_job(600)
    out = gpubarter(3, "job", "close", str(job_id), ok=False)
    assert out.strip().startswith("error: reverted: JobsNotHolder(") and "Traceback" not in out
    out = gpubarter(1, "provider", "unstake", "1000000", ok=False)
    assert "ProviderRegistryInsufficientFreeStake" in out
    world.travel(ACK_TIMEOUT_OF_H100 + 1)
    out = gpubarter(1, "job", "ack", str(job_id), ok=False)
    assert "JobsAckWindowEnded" in out
    assert world.holder.job(job_id).status is JobStatus.OPENED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["series", "mint", "1", "abc"], "not a number of GPU-hours"),
        (["series", "mint", "1", "--", "-2"], "must be a positive number"),
        (["series", "mint", "1", "0"], "must be a positive number"),
        (["series", "mint", "1", "0.0001"], "not a whole number of GPU-seconds"),
        (["series", "mint", "1", str(2**64)], "more than a series can hold"),
        (["series", "mint", "1", "1", "--to", "0x123"], "not an Ethereum address"),
        (["series", "mint", "0", "1"], "series id must be a positive integer"),
        (["job", "open", "1", "nan", "--spec", "x"], "must be a positive number"),
        (["provider", "stake", "0.0000000000000000001"], "more than 18 decimals"),
        (["provider", "stake", "lots"], "not a number of CPT"),
    ],
)
def test_cli_refuses_bad_amounts_before_touching_the_chain(args, message, capsys) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err


def test_cli_close_claim_and_show(world: World, gpubarter) -> None:
    holder = 2
    running = world.acked_job(600)
    out = gpubarter(holder, "job", "close", str(running))
    assert f"closing job {running}" in out and f"gpubarter job close {running}" in out
    world.travel(world.holder.jobs.functions.settlementGrace().call())
    assert f"closed job {running}, 0.166667 GPU-h (600 GPU-s) returned" in gpubarter(
        holder, "job", "close", str(running)
    )

    unacked = world.open_job(3_600)
    world.travel(ACK_TIMEOUT_OF_H100 + 1)
    out = gpubarter(holder, "job", "claim", str(unacked))
    assert TX_LINE.search(out) and "1 GPU-h (3,600 GPU-s) of unserved credits compensated with 4.8 CPT" in out
    assert "refunded" in gpubarter(holder, "job", "show", str(unacked))

    out = gpubarter(holder, "series", "classes")
    assert "nvidia-h100-80gb" in out and "4 CPT/GPU-h" in out and "penalty 20%" in out
    out = gpubarter(holder, "provider", "show", world.provider.sender.address)
    assert "registered  yes" in out and "9,995.2 CPT" in out  # 10,000 less the 4.8 paid to the holder
