"""``gpubarter deal``: barter deals: offer, cancel, accept, show, release, dispute, mark-due, claim-timeout,
settle."""

from __future__ import annotations

from pathlib import Path

import typer

from backend.vault.config import open_keystore
from cli import app
from cli.commands._barter import KeyDirOpt, deal_key_dir, open_barter, show_deal, steps_text
from cli.commands._compute import NetworkOpt, address, fmt_time, parse_time, positive_id
from cli.commands.output import console, show_tx
from gpubarter.errors import ConfigError
from gpubarter.protocol.barter import DealInfo, OfferTerms, SettleCheck
from gpubarter.protocol.deal_keys import DealKeys, accept_with_fresh_key, read_released, seal_for_release
from gpubarter.protocol.units import cpt_to_wei, fmt_cpt, fmt_hours, hours_to_seconds

deal_app = typer.Typer(help="Barter deals: a dataset for GPU time, released key by key.",
                       no_args_is_help=True)
app.add_typer(deal_app, name="deal")

DealArg = typer.Argument(..., help="The deal id.")
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """``3600``, ``90s``, ``30m``, ``12h``, ``1d`` -> seconds."""
    t = text.strip()
    body, unit = (t[:-1], _UNITS[t[-1]]) if t and t[-1] in _UNITS else (t, 1)
    if not body.isdigit():
        raise ConfigError(f"{text!r} is not a duration: use seconds, or 90s, 30m, 12h, 1d")
    return int(body) * unit


@deal_app.command()
def offer(
    coop: str = typer.Argument(..., help="The cooperative that owns the dataset."),
    dataset: int = typer.Argument(..., help="The dataset id (in the DatasetRegistry)."),
    hours: str = typer.Option(..., "--hours", help="GPU-hours wanted, e.g. 10 or 0.01."),
    gpu_class: str = typer.Option(..., "--class", "-c", help="GPU class id or name."),
    steps: int | None = typer.Option(None, help="K, the release steps; default: the dataset's step count."),
    start: str = typer.Option("now", help="Delivery window start: now, +1d, Unix seconds, ISO 8601."),
    end: str = typer.Option("+30d", help="Delivery window end."),
    key_timeout: str = typer.Option(
        "1d", help="Time the cooperative has to release a key once marked due (at least 1h)."),
    bond: str = typer.Option(..., help="The cooperative's bond in CPT (paid from its CPT)."),
    network: str = NetworkOpt,
) -> None:
    """Offer a cooperative's dataset for GPU time (the cooperative pays the bond)."""
    coop, dataset_id = address(coop), positive_id(dataset, "dataset id")
    seconds, bond_wei, timeout = hours_to_seconds(hours), cpt_to_wei(bond), parse_duration(key_timeout)
    c = open_barter(network)
    now = int(c.w3.eth.get_block("latest")["timestamp"])
    k = steps if steps is not None else c.datasets.functions.stepCount(dataset_id).call()
    if k < 0:
        raise ConfigError(f"--steps cannot be negative, got {k}")
    klass = c.resolve_class(gpu_class)
    terms = OfferTerms(dataset_id, klass.class_id, seconds, parse_time(start, now), parse_time(end, now), k,
                       timeout, bond_wei)
    sent = c.offer(coop, terms)
    show_tx(f"offered dataset {dataset_id} as deal {sent.value}", sent.txs[0])
    console.print(f"deal {sent.value}: {fmt_hours(seconds)} of {klass.name} in {k} steps, bond "
                  f"{fmt_cpt(bond_wei)}, window {fmt_time(terms.start)} .. {fmt_time(terms.end)}")


@deal_app.command()
def cancel(coop: str = typer.Argument(..., help="The cooperative."), deal: int = DealArg,
           network: str = NetworkOpt) -> None:
    """Withdraw the cooperative's offer before anyone accepted it (the bond returns)."""
    c = open_barter(network)
    show_tx(f"cancelled deal {deal}", c.cancel_offer(address(coop), positive_id(deal, "deal id")))


@deal_app.command()
def accept(deal: int = DealArg, key_dir: Path | None = KeyDirOpt, network: str = NetworkOpt) -> None:
    """Accept an offer as a provider with a fresh per-deal key pair (its secret stays in --key-dir, 0600)."""
    deal_id = positive_id(deal, "deal id")
    c = open_barter(network)
    sent = accept_with_fresh_key(c, DealKeys(deal_key_dir(key_dir)), deal_id)
    show_tx(f"accepted deal {deal_id}", sent.txs[-1])
    console.print(f"series {sent.value}: the cooperative received the credits; run "
                  "`gpubarter agent provider` to open keys as they are released")


@deal_app.command()
def show(deal: int = DealArg, network: str = NetworkOpt) -> None:
    """Show a deal: terms, delivery, steps due and released."""
    deal_id = positive_id(deal, "deal id")
    c = open_barter(network)
    info = c.deal_info(deal_id)
    console.print(f"deal {deal_id}")
    show_deal(c, info)


@deal_app.command()
def release(
    coop: str = typer.Argument(..., help="The cooperative (you need its KEY_AGENT_ROLE)."),
    deal: int = DealArg,
    step: int = typer.Argument(..., help="The step to release (1-based; the next one, once due)."),
    network: str = NetworkOpt,
) -> None:
    """Release one step's key by hand, sealed to the provider's per-deal key (the key agent does this)."""
    coop, deal_id, step = address(coop), positive_id(deal, "deal id"), positive_id(step, "step")
    c = open_barter(network)
    info = c.deal_info(deal_id)
    if step > info.steps:
        raise ConfigError(f"deal {deal_id} has {info.steps} steps; there is no step {step}")
    sealed = seal_for_release(c, info, step, open_keystore().key(c.manifest_of(info.dataset_id)[1], step - 1))
    show_tx(f"released the key of step {step} of deal {deal_id}", c.release(coop, deal_id, step, sealed))


@deal_app.command()
def dispute(deal: int = DealArg, step: int = typer.Argument(..., help="The released step with a wrong key."),
            key_dir: Path | None = KeyDirOpt, network: str = NetworkOpt) -> None:
    """Dispute a wrong released key by revealing the deal's secret (refused when the key is right)."""
    deal_id, step = positive_id(deal, "deal id"), positive_id(step, "step")
    c = open_barter(network)
    info = c.deal_info(deal_id)
    keys = DealKeys(deal_key_dir(key_dir))
    released = read_released(c, keys, info, step)
    if released.right:
        raise ConfigError(f"the key released for step {step} of deal {deal_id} matches its commitment; "
                          "a dispute would lose your dispute bond")
    sent = c.dispute(deal_id, step, keys.pair(deal_id), released.sealed)
    show_tx(f"disputed step {step} of deal {deal_id}", sent.txs[-1])
    console.print(f"deal {deal_id} is now {c.deal_info(deal_id).status_name}")


@deal_app.command("mark-due")
def mark_due(deal: int = DealArg, network: str = NetworkOpt) -> None:
    """Start the key-release clock of the next due step (anyone may; the provider's agent does this)."""
    deal_id = positive_id(deal, "deal id")
    c = open_barter(network)
    result = c.mark_due(deal_id)
    info = c.deal_info(deal_id)
    show_tx(f"marked step {info.released + 1} of deal {deal_id} due", result)
    console.print(f"the cooperative must release its key by {fmt_time(info.due_since + info.key_timeout_s)}; "
                  f"after that `gpubarter deal claim-timeout {deal_id}` pays its bond to the provider")


@deal_app.command("claim-timeout")
def claim_timeout(deal: int = DealArg, network: str = NetworkOpt) -> None:
    """Pay the cooperative's bond to the provider for a key not released in the key timeout (anyone may)."""
    deal_id = positive_id(deal, "deal id")
    c = open_barter(network)
    info = c.deal_info(deal_id)
    result = c.claim_key_timeout(deal_id)
    show_tx(f"claimed the key timeout of step {info.released + 1} of deal {deal_id}", result)
    console.print(f"the cooperative's bond of {fmt_cpt(info.bond_wei)} went to the provider {info.provider}; "
                  f"series {info.series_id} is frozen")


@deal_app.command()
def settle(deal: int = DealArg, network: str = NetworkOpt) -> None:
    """Settle a deal once its delivered total is final and every due key was released: the cooperative's bond
    returns to it (anyone may)."""
    deal_id = positive_id(deal, "deal id")
    c = open_barter(network)
    info = c.deal_info(deal_id)
    if info.status_name != "accepted":
        raise ConfigError(f"deal {deal_id} is {info.status_name}: only an accepted deal settles")
    if reason := why_not_settleable(info, c.settle_check(info)):
        raise ConfigError(reason)
    show_tx(f"settled deal {deal_id}", c.settle(deal_id))
    console.print(f"the cooperative's bond of {fmt_cpt(info.bond_wei)} returned to {info.maker}")


def why_not_settleable(info: DealInfo, check: SettleCheck) -> str | None:
    """Why accepted deal ``info`` cannot settle now, and what settles it; None when it can."""
    deal_id = info.deal_id
    if check.now < check.settles_at:
        return (f"deal {deal_id} can settle from {fmt_time(check.settles_at)}: its window ends "
                f"{fmt_time(info.end)}, usage measured in it may land until the jobs' settlement grace "
                "is over, and the provider has one key timeout to dispute the last key released")
    if check.held:
        return (f"deal {deal_id} cannot settle yet: {check.held} challenged usage entries of series "
                f"{info.series_id} are held until the metering oracle rules on them")
    if check.outstanding:
        first = check.outstanding[0]
        if info.due_since:
            clock = (f"step {first} was marked due at {fmt_time(info.due_since)}: the cooperative releases "
                     f"its key by {fmt_time(info.due_since + info.key_timeout_s)}, else "
                     f"`gpubarter deal claim-timeout {deal_id}` pays its bond to the provider")
        else:
            clock = ("the cooperative releases the key "
                     f"(`gpubarter deal release {info.maker} {deal_id} {first}`), "
                     f"or `gpubarter deal mark-due {deal_id}` starts step {first}'s key timeout")
        return (f"deal {deal_id} cannot settle: {check.released} of its {check.due} due keys are released "
                f"(outstanding: {steps_text(check.outstanding)}); {clock}")
    return None
