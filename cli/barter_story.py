"""The barter story, end to end on a live chain: a data cooperative pays for GPU time with a dataset.

A 3-member cooperative ('Riverbank') seals a dataset into K = 4 shards in the vault's content store
and registers it; it offers the dataset for a few GPU-seconds; a provider accepts with a fresh
per-deal key (provider agent); the members claim the credits and redeem them through jobs that run
on the simulated GPU under the real metering oracle daemon (``python -m oracle run --backend
simulated --submit``); each oracle report moves the series' delivered total, each step falls due,
the cooperative's key agent releases its key sealed to the provider, and the provider's agent
verifies it and opens the shard. At the end the provider holds the whole dataset bit for bit and
the members' claims sum to the credits minted.

:func:`run_story` drives it and narrates through ``say``; it starts and stops its own oracle daemon
and jobs (no process outlives it) and runs the agents' ``poll_once`` in its own loop. The e2e test
and ``gpubarter demo`` call it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.logs import DISCARD

from backend.agents.base import AgentLog
from backend.agents.coop import CoopKeyAgent
from backend.agents.provider import ProviderAgent
from backend.valuation.engine import appraise
from backend.valuation.inputs import AppraisalInputs, CostInputs, Pricing
from backend.valuation.report import appraisal_hash
from backend.vault.content_store import ContentStore, add_bytes
from backend.vault.keystore import KeyStore
from backend.vault.seal import seal_dataset
from gpubarter import paths
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.tx import Sender, TxResult
from gpubarter.deploy_plan import WAD
from gpubarter.deployment_record import Deployment
from gpubarter.errors import GpuBarterError
from gpubarter.process import ChildProcess
from gpubarter.protocol.barter import BarterClient, OfferTerms
from oracle.meter_store import MeterStore

Say = Callable[[str], None]

K = 4
SHARES = (1, 2, 3)
DAY = 86_400
PROVIDER_STAKE = 2_000 * WAD


class StoryError(GpuBarterError):
    """The story could not go on (a process did not start, delivery stalled)."""


def _default_cast() -> list[LocalAccount]:
    return [dev_account(i) for i in range(6)]


@dataclass
class StoryEnv:
    """What the story needs. ``cast``: governance (holds CPT, deployed the protocol, signs oracle
    reports), the cooperative's admin (also its key agent), the provider, and three members."""

    w3: Web3
    deployment: Deployment
    deployments_dir: Path
    chain_url: str
    store: ContentStore
    work_dir: Path
    network: str = "local"
    cast: Sequence[LocalAccount] = field(default_factory=_default_cast)
    gpu_seconds: int = 12  # the deal's GPU time: K steps of 3 GPU-s
    timeout_s: float = 120.0
    #: The database of an oracle daemon already running (e.g. the dev stack's, on 3 or more simulated
    #: GPUs): jobs are launched into it and no daemon of the story's own is started.
    oracle_db: Path | None = None


@dataclass
class StoryReport:
    gpu_hours_delivered: float = 0.0
    steps_released: int = 0
    gas: list[tuple[str, str, int]] = field(default_factory=list)  # (step, role, gas)
    members_received: dict[str, int] = field(default_factory=dict)  # member -> credits (GPU-s)
    credits_minted: int = 0
    dataset_intact: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def gas_by_role(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _step, role, gas in self.gas:
            out[role] = out.get(role, 0) + gas
        return out


def _sample_dataset(path: Path, rows: int = 2_000) -> Path:
    """A deterministic JSON-lines dataset of river-gauge readings (a few tens of KiB)."""
    with path.open("w") as f:
        for i in range(rows):
            row = {"station": f"RB-{i % 7:02d}", "t": 1_700_000_000 + 600 * i,
                   "level_cm": 120 + (i * 37) % 90, "flow_m3s": round(3.5 + (i * 13) % 40 / 10, 1)}
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
    return path


class _Story:
    def __init__(self, env: StoryEnv, say: Say) -> None:
        self.env, self.say = env, say
        self.report = StoryReport()
        clients = [BarterClient(Sender(env.w3, a), env.deployment) for a in env.cast[:6]]
        gov, admin, provider, *members = clients
        self.gov, self.admin, self.provider, self.members = gov, admin, provider, members
        self.work = Path(env.work_dir)
        self.work.mkdir(parents=True, exist_ok=True)
        self.procs: list[ChildProcess] = []

    def gas(self, step: str, role: str, *results: TxResult | int) -> int:
        total = sum(r if isinstance(r, int) else r.gas_used for r in results)
        self.report.gas.append((step, role, total))
        return total

    # ----------------------------------------------------------------- acts

    def cooperative(self) -> str:
        coop = self.admin.create_cooperative("Riverbank")
        self.gas("create cooperative", "cooperative admin", *coop.txs)
        fund = self.gov.sender.transact(self.gov.token.functions.transfer(coop.value, 100 * WAD))
        self.gas("fund cooperative", "governance", fund)
        for member, shares in zip(self.members, SHARES, strict=True):
            result = self.admin.set_shares(coop.value, member.sender.address, shares)
            self.gas("set shares", "cooperative admin", result)
        self.say(f"cooperative 'Riverbank' ({coop.value}) has 3 members with shares "
                 f"{', '.join(map(str, SHARES))}")
        return coop.value

    def provider_onboard(self) -> None:
        info = self.provider.provider()
        if not info.registered:
            self.gas("register provider", "provider", self.provider.register("bafkreistoryprovider"))
        if info.free < PROVIDER_STAKE // 2:
            fund = self.gov.sender.transact(self.gov.token.functions.transfer(self.provider.sender.address,
                                                                               PROVIDER_STAKE))
            self.gas("fund provider", "governance", fund)
            self.gas("stake", "provider", *self.provider.stake(PROVIDER_STAKE).txs)
        self.say(f"provider {self.provider.sender.address} is registered and staked "
                 f"({self.provider.provider().free / WAD:,.0f} CPT free)")

    def seal_and_register(self, coop: str, keystore: KeyStore) -> tuple[int, Path]:
        source = _sample_dataset(self.work / "river-gauges.jsonl")
        sealed = seal_dataset(source, K, self.env.store, keystore, kind="jsonl", name="river gauges")
        commitments = [bytes.fromhex(c[2:]) for c in sealed.commitments]
        appraisal = self.appraise(source)
        reg = self.admin.register_dataset(coop, sealed.manifest_cid, commitments,
                                          bytes.fromhex(sealed.manifest.merkle_root[2:]), appraisal)
        self.gas("register dataset", "cooperative admin", *reg.txs)
        kib = source.stat().st_size / 1024
        self.say(f"cooperative 'Riverbank' seals dataset 'river-gauges.jsonl' ({kib:.0f} "
                 f"KiB) into {K} shards (manifest {sealed.manifest_cid[:16]}...) and registers it as dataset "
                 f"{reg.value}")
        return reg.value, source

    def appraise(self, source: Path) -> bytes:
        """Appraise the dataset (cost approach + the dimensional model); returns the report's hash."""
        klass = self.gov.gpu_classes()[0].name
        inputs = AppraisalInputs(pricing=Pricing(price_per_gpu_hour=2.5),
                                 cost=CostInputs(collection=1_200, cleaning=300, storage=40))
        report = appraise(source, klass, inputs)
        digest = appraisal_hash(report)
        (self.work / "appraisal.json").write_text(json.dumps(report, indent=2))
        low, mid, high = (report["result"]["gpu_hours"][k] for k in ("low", "mid", "high"))
        self.say(f"cooperative 'Riverbank' appraises the dataset at {low:,.0f} / {mid:,.0f} / {high:,.0f} "
                 f"GPU-hours of {klass} (low / mid / high; report hash {digest[:12]}...)")
        return bytes.fromhex(digest[2:])

    def offer(self, coop: str, dataset_id: int) -> int:
        now = int(self.env.w3.eth.get_block("latest")["timestamp"])
        bond = self.gov.escrow.functions.minBond().call()
        klass = self.gov.gpu_classes()[0]
        seconds = self.env.gpu_seconds
        terms = OfferTerms(dataset_id, klass.class_id, seconds, now, now + 30 * DAY, K, DAY, bond)
        sent = self.admin.offer(coop, terms)
        self.gas("offer", "cooperative admin", *sent.txs)
        self.say(f"cooperative 'Riverbank' offers dataset {dataset_id} for {self.env.gpu_seconds} GPU-s of "
                 f"{klass.name} in {K} steps, bond {bond / WAD:g} CPT: deal {sent.value}")
        return sent.value

    def claims(self, coop: str) -> None:
        contract = self.admin.cooperative(coop)
        for i, member in enumerate(self.members, 1):
            got = 0
            for result in member.claim_all(coop):
                self.gas("claim", f"member {i}", result)
                logs = contract.events.Claimed().process_receipt(result.receipt, errors=DISCARD)
                got += sum(log["args"]["amount"] for log in logs)
            self.report.members_received[member.sender.address] = got
            self.say(f"member {i} claims {got} GPU-s of credits (gas {self.report.gas[-1][2]:,})")

    # ------------------------------------------------------------ processes

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPUBARTER_")}
        env.update(GPUBARTER_DEPLOYMENTS_DIR=str(self.env.deployments_dir),
                   GPUBARTER_STATE_DIR=str(self.work / "oracle-state"),
                   GPUBARTER_PRIVATE_KEY="0x" + bytes(self.env.cast[0].key).hex())
        env[f"GPUBARTER_{self.env.network.upper()}_RPC_URL"] = self.env.chain_url
        return env

    def start(self, name: str, args: list[str], ready: Callable[[], bool]) -> ChildProcess:
        proc = ChildProcess(name, log_path=self.work / f"{name}.log")
        self.procs.append(proc)
        proc.start([sys.executable, "-m", "oracle", *args], ready=ready, timeout=60, env=self.child_env(),
                   cwd=paths.project_root())
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(grace_s=10)
        self.procs.clear()

    def jobs(self, series_id: int, db: Path) -> list[ChildProcess]:
        spec = add_bytes(self.env.store, json.dumps({"image": "simulated", "command": "sleep"}).encode())
        running = []
        for i, member in enumerate(self.members):
            credits = member.credit_balance(series_id)
            job = member.open_job(series_id, credits, spec)
            ack = self.provider.acknowledge(job.value)
            self.gas("open job", f"member {i + 1}", *job.txs)
            self.gas("acknowledge job", "provider", ack)
            self.say(f"member {i + 1} opens job {job.value} for {credits} GPU-s on simulated GPU {i}")
            # The job runs a little longer than its credits: metering rounds down, usage is capped.
            args = ["run-job", "--db", str(db), str(job.value), "--gpus", str(i),
                    "--", "sleep", f"{credits + 1.5}"]
            running.append(self.start(f"job-{job.value}", args, ready=lambda: True))
        return running

    # ------------------------------------------------------------ the story

    def run(self) -> StoryReport:
        keystore = KeyStore(self.work / "cooperative-keys")
        coop = self.cooperative()
        self.provider_onboard()
        dataset_id, source = self.seal_and_register(coop, keystore)
        deal_id = self.offer(coop, dataset_id)

        key_agent = CoopKeyAgent(self.admin, coop, keystore, self.work / "key-agent", AgentLog("coop"))
        provider_agent = ProviderAgent(self.provider, self.work / "provider-keys", self.env.store,
                                       self.work / "provider-shards", self.work / "provider-agent",
                                       AgentLog("provider"))
        series_id, accepted = provider_agent.accept(deal_id)
        self.gas("accept", "provider", accepted)
        minted = self.gov.credit_balance(series_id, coop)
        self.report.credits_minted = minted
        self.say(f"provider accepts deal {deal_id} with a fresh per-deal key: series {series_id}, "
                 f"{minted} GPU-s of credits minted to the cooperative (gas {accepted.gas_used:,})")
        self.claims(coop)

        db = self.env.oracle_db or self.work / "meter.sqlite"
        if self.env.oracle_db is None:
            self.start("oracle", ["run", "--db", str(db), "--backend", "simulated", "--sim-gpus", "3",
                                  "--interval", "0.2", "--report-every", "1", "--no-metrics", "--submit",
                                  "--network", self.env.network], ready=db.exists)
        self.say("the oracle daemon meters 3 simulated GPUs (labelled simulated) and submits signed reports")
        self.jobs(series_id, db)
        self.deliver(deal_id, series_id, key_agent, provider_agent)
        self.stop_all()
        self.oracle_gas(db)
        self.finish(deal_id, series_id, source)
        return self.report

    def deliver(self, deal_id: int, series_id: int, key_agent: CoopKeyAgent, provider_agent: ProviderAgent
                ) -> None:
        total = self.env.gpu_seconds
        opened, last_delivered = 0, -1
        deadline = time.monotonic() + self.env.timeout_s
        while opened < K:
            if time.monotonic() > deadline:
                raise StoryError(f"delivery stalled at {last_delivered}/{total} GPU-s with {opened} of {K} "
                                 f"shards opened (logs in {self.work})")
            delivered = self.gov.delivered(series_id)
            if delivered != last_delivered:
                last_delivered = delivered
            for release in key_agent.poll_once():
                self.gas(f"release key {release.step}", "key agent", release.gas)
                info = self.gov.deal_info(deal_id)
                step = release.step
                self.say(f"step {step} due at {info.needed(step)}/{total} GPU-s (delivered {delivered}); "
                         f"key agent releases key {step} (gas {release.gas:,})")
                self.report.steps_released = release.step
            for outcome in provider_agent.poll_once():
                if outcome.outcome == "opened":
                    opened += 1
                    size = provider_agent.shard_path(deal_id, outcome.step - 1).stat().st_size
                    self.say(f"provider agent checks key {outcome.step} against its commitment and opens "
                             f"shard {outcome.step} ({size:,} bytes)")
                else:
                    self.report.failures.append(f"step {outcome.step}: provider {outcome.outcome}")
                    raise StoryError(f"the provider disputed step {outcome.step}")
            time.sleep(0.2)

    def oracle_gas(self, db: Path) -> None:
        """Gas of the oracle's report batches, from the meter's own record of what it submitted."""
        store = MeterStore(db)
        try:
            hashes = [b.tx_hash for b in store.batches("confirmed") if b.tx_hash]
        finally:
            store.close()
        gas = sum(self.env.w3.eth.get_transaction_receipt(h)["gasUsed"] for h in hashes)
        self.gas(f"usage reports ({len(hashes)} batches)", "oracle", gas)
        self.say(f"the oracle submitted {len(hashes)} signed usage batches (gas {gas:,} in all)")

    def finish(self, deal_id: int, series_id: int, source: Path) -> None:
        delivered = self.gov.delivered(series_id)
        self.report.gpu_hours_delivered = delivered / 3_600
        shards = self.work / "provider-shards" / f"deal-{deal_id}"
        whole = b"".join((shards / f"shard-{i}").read_bytes() for i in range(K))
        digest = hashlib.sha256(whole).hexdigest()
        self.report.dataset_intact = whole == source.read_bytes()
        if self.report.dataset_intact:
            self.say(f"the provider holds the whole dataset, bit for bit (sha256 {digest[:16]}...)")
        else:
            self.report.failures.append("the provider's shards do not reassemble the dataset")
        claimed = sum(self.report.members_received.values())
        if claimed != self.report.credits_minted:
            self.report.failures.append(f"members claimed {claimed} of {self.report.credits_minted} credits")
        else:
            self.say(f"members received {', '.join(map(str, self.report.members_received.values()))} GPU-s: "
                     f"exactly the {claimed} credits minted; {delivered} GPU-s delivered")


def run_story(env: StoryEnv, *, say: Say) -> StoryReport:
    """Plays the barter story on ``env``'s chain (see the module's documentation)."""
    story = _Story(env, say)
    try:
        return story.run()
    except GpuBarterError as exc:
        story.report.failures.append(str(exc))
        say(f"the story stopped: {exc}")
        return story.report
    finally:
        story.stop_all()
