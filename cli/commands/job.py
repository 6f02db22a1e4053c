"""``gpubarter job``: open, ack, close, claim, show (and apply-usage for metering operators)."""

from __future__ import annotations

import typer

from cli import app
from cli.commands._compute import NetworkOpt, fmt_time, open_client, positive_id, print_fields
from cli.commands.output import console, show_tx
from gpubarter.protocol.credits import ComputeClient
from gpubarter.protocol.types import JobStatus
from gpubarter.protocol.units import fmt_cpt, fmt_hours, hours_to_seconds

job_app = typer.Typer(help="Jobs: redeem credits for GPU time.", no_args_is_help=True)
app.add_typer(job_app, name="job")

JobArg = typer.Argument(..., help="The job id.")


def _summary(c: ComputeClient, job_id: int) -> None:
    j = c.job(job_id)
    print_fields(
        {
            "job": str(job_id),
            "status": j.status.name.lower(),
            "holder": j.holder,
            "series": str(j.series_id),
            "locked": fmt_hours(j.max_seconds),
            "used": fmt_hours(j.used_seconds),
            "acknowledge by": fmt_time(j.ack_deadline),
            "serve by": fmt_time(j.deadline),
        }
    )


@job_app.command("open")
def open_job(
    series_id: int = typer.Argument(..., help="The series whose credits to redeem."),
    hours: str = typer.Argument(..., help="GPU-hours to lock: the most the job may use."),
    spec: str = typer.Option(..., "--spec", help="IPFS CID of the job specification."),
    network: str = NetworkOpt,
) -> None:
    """Open a job: lock credits for the provider to serve."""
    seconds, sid = hours_to_seconds(hours), positive_id(series_id, "series id")
    c = open_client(network)
    sent = c.open_job(sid, seconds, spec)
    show_tx(f"opened job {sent.value}", sent.txs[0])
    _summary(c, sent.value)


@job_app.command()
def ack(job_id: int = JobArg, network: str = NetworkOpt) -> None:
    """Acknowledge a job on your series (the provider takes it on)."""
    c = open_client(network)
    show_tx(f"acknowledged job {job_id}", c.acknowledge(positive_id(job_id, "job id")))
    _summary(c, job_id)


@job_app.command()
def close(job_id: int = JobArg, network: str = NetworkOpt) -> None:
    """Close your job; unused credits come back (for a running job, after the settlement grace:
    run close again then)."""
    c = open_client(network)
    result = c.close(positive_id(job_id, "job id"))
    j = c.job(job_id)
    if j.status is JobStatus.CLOSING:
        show_tx(
            f"closing job {job_id}: usage measured so far settles until "
            f"{fmt_time(j.deadline)}; run `gpubarter job close {job_id}` again then",
            result,
        )
    else:
        show_tx(f"closed job {job_id}, {fmt_hours(j.unused)} returned", result)
    _summary(c, job_id)


@job_app.command()
def claim(job_id: int = JobArg, network: str = NetworkOpt) -> None:
    """Claim after a default (a job not acknowledged or not served in time): the unserved credits'
    whole collateral (rate plus penalty) is paid to you; on a frozen series they come back instead."""
    c = open_client(network)
    before = c.cpt_balance()
    unused = c.job(positive_id(job_id, "job id")).unused
    result = c.claim(job_id)
    paid = c.cpt_balance() - before
    outcome = (f"{fmt_hours(unused)} of unserved credits compensated with {fmt_cpt(paid)}" if paid
               else f"{fmt_hours(unused)} returned (the series is frozen: its provider owes no penalty)")
    show_tx(f"refunded job {job_id}: {outcome}", result)
    _summary(c, job_id)


@job_app.command("apply-usage")
def apply_usage(
    job_id: int = JobArg,
    hours: str = typer.Argument(..., help="Newly delivered GPU-hours (an increment)."),
    network: str = NetworkOpt,
) -> None:
    """Apply delivered GPU time to a job (metering operators: needs METERING_ROLE on Jobs)."""
    seconds = hours_to_seconds(hours)
    c = open_client(network)
    show_tx(
        f"applied {fmt_hours(seconds)} to job {job_id}",
        c.apply_usage(positive_id(job_id, "job id"), seconds),
    )
    _summary(c, job_id)


@job_app.command()
def show(job_id: int = JobArg, network: str = NetworkOpt) -> None:
    """Show a job."""
    c = open_client(network)
    _summary(c, positive_id(job_id, "job id"))
    holds = c.jobs.functions.holdsOf(job_id).call()
    if holds:
        entries = "entry" if holds == 1 else "entries"
        console.print(f"  held usage       {holds} challenged {entries} awaiting a ruling")
