"""The oracle's command line (``python -m oracle``, and ``gpubarter oracle``): the metering
daemon, job launcher, co-signer, finaliser and status.

Whenever the GPUs are simulated, every line this group prints says so.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from gpubarter import paths
from gpubarter.chain.network import connect, get_network, log_range_for
from gpubarter.chain.tx import Sender
from gpubarter.command import new_app, run_app
from gpubarter.deployment_record import load_deployment
from gpubarter.errors import ConfigError, GpuBarterError
from gpubarter.session import resolve_signer
from oracle import logs
from oracle.backends import open_backend
from oracle.cosign import Policy, chain_running_for, serve
from oracle.daemon import DaemonConfig, default_db, run_daemon
from oracle.finalize import Finalizer
from oracle.jobs import parse_gpus, parse_job_id, register_pid, run_job
from oracle.meter import Signer
from oracle.meter_store import MeterStore
from oracle.probe import probe
from oracle.status import collect
from oracle.submit import SubmitOptions, Submitter

if TYPE_CHECKING:
    from oracle.meter_store import Challenge, Finalization

# GPU names, commands and notes are printed verbatim: no rich markup, no highlighting.
console = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

app = new_app("oracle", "The NVML metering oracle: run the meter, launch metered jobs, status.")


def main(argv: list[str] | None = None) -> int:
    return run_app(app, argv, "python -m oracle")

DbOpt = typer.Option(
    None, "--db", help="The meter's SQLite database [default: <state>/oracle/meter.sqlite]."
)
CommandArg = typer.Argument(..., help="The command, after `--`.")
BackendOpt = typer.Option(
    "auto",
    "--backend",
    help="nvml, simulated, or auto (NVML if it works, else simulated with a loud notice).",
)


def _db(path: Path | None) -> Path:

    return path or default_db()


def _label(simulated: bool) -> str:
    return " (simulated GPU)" if simulated else ""


@app.command()
def run(
    backend: str = BackendOpt,
    sim_gpus: int = typer.Option(1, "--sim-gpus", help="Simulated GPUs (simulated/auto backends)."),
    sim_sm_util: int = typer.Option(
        80, "--sim-sm-util", help="SM utilisation % of a simulated job process."
    ),
    interval: float = typer.Option(
        1.0, "--interval", help="Seconds between samples (1 Hz default)."
    ),
    report_every: float = typer.Option(
        10.0, "--report-every", help="Seconds between signed report batches."
    ),
    metrics_port: int = typer.Option(
        9464, "--metrics-port", help="Prometheus port on 127.0.0.1 (0: any free port)."
    ),
    no_metrics: bool = typer.Option(False, "--no-metrics", help="Serve no Prometheus metrics."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds."),
    network: str = typer.Option(
        "local", "--network", "-n", help="Network whose key signs reports."
    ),
    chain_id: int | None = typer.Option(
        None, "--chain-id", help="EIP-712 chain id [default: the network's]."
    ),
    verifying_contract: str | None = typer.Option(
        None,
        "--verifying-contract",
        help="MeteringOracle address [default: from the network's deployment].",
    ),
    submit: bool | None = typer.Option(
        None, "--submit/--no-submit",
        help="Send signed batches to the network's MeteringOracle [default: when its node and "
        "deployment are there].",
    ),
    confirmations: int | None = typer.Option(
        None, "--confirmations", help="Blocks on top before a batch counts [default: the network's]."
    ),
    peer: list[str] = typer.Option(
        [], "--peer", help="A co-signer's URL (`gpubarter oracle cosign`); repeat for each. Asked when "
        "the MeteringOracle's threshold needs more signatures than this node's.",
    ),
    gas_cap: int | None = typer.Option(
        None, "--gas-cap", help="Most gas one submission may use; bigger batches are split "
        "[default: half the block gas limit].",
    ),
    db: Path | None = DbOpt,
) -> None:
    """Run the meter: sample GPUs, attribute to jobs, sign, persist and submit usage reports."""

    config = DaemonConfig(
        db=_db(db),
        interval_s=interval,
        report_every_s=report_every,
        metrics_port=None if no_metrics else metrics_port,
        duration_s=duration,
        sim_sm_pct=sim_sm_util,
    )
    signer = _signer(network, chain_id, verifying_contract)
    log = logs.setup("starting")
    gpu_backend = open_backend(backend, sim_gpus=sim_gpus, log=log)
    log = logs.setup(gpu_backend.kind)
    if gpu_backend.simulated:
        err.print(
            f"SIMULATED GPUs: {sim_gpus} simulated GPU(s); no real GPU is "
            "measured and every report is marked simulated."
        )
    submitter = None
    if submit is not False:

        try:
            submitter = _submitter(network, signer, confirmations, log, peer, gas_cap)
        except GpuBarterError as exc:
            if submit:
                raise
            err.print(f"not submitting reports (signed and kept in the database): {exc}")
    run_daemon(config, gpu_backend, signer, log, submitter)


def _chain(network_name: str, signer, confirmations: int | None):
    """The network's node, a ``Sender`` for the signer's key and the MeteringOracle its reports are for."""

    if confirmations is not None and confirmations < 0:
        raise ConfigError(f"--confirmations must not be negative, not {confirmations}")
    network = get_network(network_name)
    w3 = connect(network.rpc_url())
    if confirmations is None:
        confirmations = network.confirmations
    sender = Sender(w3, signer.account, confirmations=confirmations)
    if sender.chain_id != signer.chain_id:
        raise ConfigError(f"the node of {network_name!r} is chain {sender.chain_id}, reports are signed "
                          f"for chain {signer.chain_id}")
    deployment = load_deployment(signer.chain_id)
    oracle = deployment.contract(w3, "MeteringOracle")
    if oracle.address.lower() != signer.verifying_contract.lower():
        raise ConfigError(f"reports are signed for {signer.verifying_contract}, but the deployment's "
                          f"MeteringOracle is {oracle.address}")
    return sender, oracle, deployment


def _submitter(network_name: str, signer, confirmations: int | None, log, peers: list[str],
               gas_cap: int | None):
    """A factory of the daemon's submitter (with its finaliser) for the network's MeteringOracle."""

    if gas_cap is not None and gas_cap <= 0:
        raise ConfigError(f"--gas-cap must be positive, not {gas_cap}")
    for url in peers:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--peer must be an http(s) URL, not {url!r}")
    sender, oracle, deployment = _chain(network_name, signer, confirmations)
    options = SubmitOptions(peers=list(peers), gas_cap=gas_cap)
    start, max_range = deployment.block_of("MeteringOracle"), log_range_for(network_name)
    return lambda store: Submitter(
        store, sender, oracle, log, signer=signer, options=options,
        finalizer=Finalizer(store, sender, oracle, log, sender.confirmations, start, max_range))


@app.command()
def finalize(
    network: str = typer.Option("local", "--network", "-n", help="Network of the MeteringOracle."),
    confirmations: int | None = typer.Option(
        None, "--confirmations", help="Blocks on top before a batch counts [default: the network's]."
    ),
    db: Path | None = DbOpt,
) -> None:
    """Finalise every accepted batch whose challenge period is over (the daemon does this itself)."""

    signer = _signer(network, None, None)
    sender, oracle, deployment = _chain(network, signer, confirmations)
    store = MeterStore(_db(db))
    try:
        finalizer = Finalizer(store, sender, oracle, logs.setup("finalize"), sender.confirmations,
                              deployment.block_of("MeteringOracle"), log_range_for(network))
        done = finalizer.pump()
        waiting = store.finalizations(sender.chain_id, oracle.address)
        open_challenges = store.challenges(sender.chain_id, oracle.address)
    finally:
        store.close()
    console.print(_finalize_summary(done, finalizer.lapsed, waiting, open_challenges, finalizer.checked_at))


def _finalize_summary(done: int, lapsed: int, waiting: list[Finalization], open_challenges: list[Challenge],
                     now: int) -> str:
    """One line on a finaliser pass at ``now``. A challenge holds back only its entry, never its batch, so
    a batch still waiting is either in its challenge period or was due and refused (tried again next pass);
    an open challenge either waits for the arbiter until its ``resolveBy`` or was not lapsed yet."""
    in_period = sum(f.final_at > now for f in waiting)
    parts = [f"finalised {done} batch(es); {in_period} still in their challenge period"]
    if refused := len(waiting) - in_period:
        parts.append(f"{refused} due but not finalised (see the log; tried again on the next pass)")
    if lapsed:
        parts.append(f"lapsed {lapsed} challenge(s) the arbiter left without a ruling")
    ruling = sum(c.resolve_by >= now for c in open_challenges)
    if ruling:
        parts.append(f"{ruling} challenge(s) waiting for the arbiter's ruling")
    if unlapsed := len(open_challenges) - ruling:
        parts.append(f"{unlapsed} challenge(s) past their ruling window but not lapsed "
                     "(see the log; tried again on the next pass)")
    return "; ".join(parts)


@app.command()
def cosign(
    port: int = typer.Option(9470, "--port", help="Port on 127.0.0.1 (0: any free port)."),
    network: str = typer.Option("local", "--network", "-n", help="Network whose key co-signs."),
    db: Path | None = typer.Option(
        None, "--db", help="The co-signer's SQLite database [default: <state>/oracle/cosign.sqlite]."
    ),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds."),
) -> None:
    """Serve co-signatures (threshold > 1): sign only batches this node can vouch for."""


    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be 0..65535, not {port}")
    signer = _signer(network, None, None)
    sender, _oracle, deployment = _chain(network, signer, 0)
    jobs = deployment.contract(sender.w3, "Jobs")
    log = logs.setup("cosign")
    policy = Policy(db or paths.state_dir() / "oracle" / "cosign.sqlite", signer,
                    chain_running_for(sender.w3, jobs, from_block=deployment.block_of("Jobs"),
                                      max_range=log_range_for(network)))
    server = serve(policy, port, log)
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    url = f"http://127.0.0.1:{server.server_address[1]}"
    log.info("co-signer started", extra={"url": url, "signer": signer.account.address})
    err.print(f"co-signing as {signer.account.address} on {url}")
    try:
        stop.wait(duration)
    finally:
        server.shutdown()
        policy.close()


def _signer(network_name: str, chain_id: int | None, verifying_contract: str | None):

    network = get_network(network_name)
    cid = chain_id if chain_id is not None else network.chain_id
    if cid is None:
        raise ConfigError(f"network {network_name!r} has no chain id: pass --chain-id")
    if verifying_contract is None:
        verifying_contract = load_deployment(cid).address("MeteringOracle")
    return Signer(resolve_signer(network), cid, verifying_contract)


@app.command(
    "run-job", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def run_job_cmd(
    job: str = typer.Argument(..., help="The job id (as Jobs numbers it)."),
    command: list[str] = CommandArg,
    gpus: str = typer.Option(..., "--gpus", help="GPU indices the job may use, e.g. 0,1."),
    db: Path | None = DbOpt,
) -> None:
    """Launch a command as a metered job, pinned to its GPUs; exits with its status."""

    job_id, pinned = parse_job_id(job), parse_gpus(gpus)
    store = MeterStore(_db(db))
    simulated = _daemon_simulated(store)
    err.print(f"job {job_id}: running {' '.join(command)!r} on GPU(s) {gpus}{_label(simulated)}")
    status = run_job(store, job_id, pinned, command)
    err.print(f"job {job_id}: command exited with status {status}{_label(simulated)}")
    raise typer.Exit(code=status)


@app.command()
def attach(
    job: str = typer.Argument(..., help="The job id."),
    pid: int = typer.Argument(..., help="A running process (its descendants count too)."),
    gpus: str = typer.Option("", "--gpus", help="GPU indices the job uses (simulated placement)."),
    db: Path | None = DbOpt,
) -> None:
    """Register a running process as a job's: its GPU time counts for that job."""

    job_id = parse_job_id(job)
    store = MeterStore(_db(db))
    register_pid(store, job_id, pid, parse_gpus(gpus))
    console.print(f"process {pid} now counts for job {job_id}{_label(_daemon_simulated(store))}")


def _daemon_simulated(store: object) -> bool:
    raw = store.meta("daemon")  # type: ignore[attr-defined]
    return bool(raw and json.loads(raw).get("simulated"))


@app.command()
def status(
    db: Path | None = DbOpt, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Show the meter's backend, jobs, cumulative counters and submission queue."""

    info = collect(_db(db))
    if as_json:
        console.print_json(json.dumps(info))
        return
    d = info["daemon"] or {}
    label = "SIMULATED" if d.get("simulated") else d.get("backend", "never run")
    console.print(f"meter database {info['db']}")
    console.print(
        f"backend: {label}; daemon {'running' if info['running'] else 'not running'}"
        f"{' (pid ' + str(d.get('pid')) + ')' if info['running'] else ''}"
    )
    if d.get("signer"):
        console.print(
            f"signs as {d['signer']} for chain {d['chain_id']}, contract {d['verifying_contract']}"
        )
    for g in d.get("gpus", []):
        console.print(f"  GPU {g['index']}: {g['name']} {g['uuid']}")
    for k, v in (d.get("notes") or {}).items():
        console.print(f"  note {k}: {v}")
    for c in info["counters"]:
        console.print(
            f"  job {c['job_id']} on {c['gpu_uuid']}: {c['allocated_ms']} GPU-ms allocated, "
            f"{c['sm_active_ms']} SM-active GPU-ms, {c['energy_mj']} mJ, {c['samples']} samples"
            f"{_label(bool(d.get('simulated')))}"
        )
    q = info["queue"]
    console.print(
        f"batches: {q['signed']} signed, {q['submitted']} submitted, {q['confirmed']} confirmed"
        f"{', ' + str(q['split']) + ' split' if q.get('split') else ''}"
    )
    f = info["finalizations"]
    if f["pending"] or f["final"]:
        console.print(f"on-chain batches: {f['pending']} waiting to be finalised, {f['final']} finalised")
    c = info["challenges"]
    if c["open"] or c["closed"]:
        console.print(f"challenged entries: {c['open']} waiting for a ruling or a lapse, "
                      f"{c['closed']} settled")


@app.command()
def gpus(
    backend: str = BackendOpt,
    sim_gpus: int = typer.Option(1, "--sim-gpus", help="Simulated GPUs (simulated/auto backends)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Read every GPU once and show what the meter can (and cannot) read."""

    doc = probe(backend, sim_gpus=sim_gpus)
    if as_json:
        console.print_json(json.dumps(doc, default=str))
        return
    label = _label(doc["simulated"])
    console.print(f"backend {doc['backend']}, driver {doc['driver']}{label}")
    for r in doc["readings"]:
        g = r["gpu"]
        missing = ", ".join(f"{k}: {v}" for k, v in r["degraded"].items()) or "none"
        console.print(
            f"GPU {g['index']}: {g['name']} {g['uuid']}; energy {r['energy_mj']} mJ, "
            f"utilisation {r['util_gpu_pct']} %, {len(r['processes'] or {})} "
            f"process(es); unreadable: {missing}{label}"
        )
    for k, v in doc["notes"].items():
        console.print(f"note {k}: {v}{label}")
