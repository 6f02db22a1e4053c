"""What the ``coop``, ``deal`` and ``agent`` command groups share: the client, folders, deal display."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.commands._compute import fmt_time, print_fields
from gpubarter import paths
from gpubarter.protocol.barter import BarterClient, DealInfo
from gpubarter.protocol.units import fmt_cpt, fmt_hours
from gpubarter.session import ChainSession

KeyDirOpt = typer.Option(
    None, "--key-dir", help="Folder of the provider's per-deal key files (default: <state dir>/deal-keys)."
)


def open_barter(network: str) -> BarterClient:
    """A client signing with the session's key (GPUBARTER_PRIVATE_KEY, keystore, or dev key)."""
    session = ChainSession.open(network)
    return BarterClient(session.sender, session.deployment, log_range=session.network.max_log_range)


def deal_key_dir(given: Path | None) -> Path:
    return given or paths.state_dir() / "deal-keys"


def agent_dir(kind: str, given: Path | None) -> Path:
    return given or paths.state_dir() / "agents" / kind


def steps_text(steps: range) -> str:
    """``step 2`` or ``steps 2-4``."""
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]}"


def show_deal(c: BarterClient, deal: DealInfo) -> None:
    fields = {
        "status": deal.status_name,
        "cooperative": deal.maker,
        "dataset": str(deal.dataset_id),
        "GPU time": f"{fmt_hours(deal.gpu_seconds)} of class {deal.class_id}",
        "window": f"{fmt_time(deal.start)} .. {fmt_time(deal.end)}",
        "steps": f"{deal.released} of {deal.steps} keys released",
        "key timeout": f"{deal.key_timeout_s} s",
        "bond": fmt_cpt(deal.bond_wei),
    }
    if deal.series_id:
        delivered = c.delivered(deal.series_id)
        due = c.escrow.functions.dueSteps(deal.deal_id).call()
        fields["provider"] = deal.provider
        fields["series"] = str(deal.series_id)
        fields["delivered"] = f"{delivered:,} of {deal.gpu_seconds:,} GPU-s ({due} steps due)"
        if deal.released < deal.steps:
            fields["next step"] = f"{deal.released + 1} due at {deal.needed(deal.released + 1):,} GPU-s"
        if deal.due_since:
            by = fmt_time(deal.due_since + deal.key_timeout_s)
            fields["marked due"] = f"{fmt_time(deal.due_since)} (key due by {by})"
        if deal.status_name == "accepted":
            check = c.settle_check(deal)
            owed = f" (keys outstanding: {steps_text(check.outstanding)})" if check.outstanding else ""
            fields["settles"] = f"from {fmt_time(check.settles_at)}{owed}"
    if deal.disputed:
        fields["disputed"] = "yes (the provider lost a dispute)"
    print_fields(fields)
