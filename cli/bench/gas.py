"""``gpubarter bench gas``: gas of every user operation of the compute side.

Each row sits beside a baseline measured in the same run on the same chain (a fresh
anvil): OpenZeppelin's plain ERC1155 ``safeTransferFrom`` and ``mint`` and ERC20
``transfer`` (``contracts/bench/``). Transfers and mints are measured in the same
situation as their baselines: to an address that held none of the id ("new") and to
one that already held some ("existing").

Budgets (issue 3):
- credit transfer <= 1.10 x plain ERC1155 transfer;
- mint <= 1.5 x plain ERC1155 mint + one storage write (20,000 gas) for the collateral;
- open job <= 150,000 gas; apply usage <= 60,000 gas.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from web3 import Web3

from cli.bench import Measurement
from devservers.anvil import LocalChain, increase_time
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.contracts import deploy_contract
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import WAD, DeployParams, role
from gpubarter.deploy_web3 import deploy_all
from gpubarter.deployment_record import Deployment
from gpubarter.protocol.credits import ComputeClient

STORAGE_WRITE = 20_000
BATCH = 100
SPEC = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
DAY = 86_400

#: Baseline labels.
T_NEW, T_OLD = "plain ERC1155 transfer (new)", "plain ERC1155 transfer (existing)"
M_NEW, M_OLD = "plain ERC1155 mint (new)", "plain ERC1155 mint (existing)"
E_NEW, E_OLD = "plain ERC20 transfer (new)", "plain ERC20 transfer (existing)"


def _baselines(gov: Sender, holder: Sender, a: str, b: str) -> dict[str, int]:
    """Gas of the plain OpenZeppelin tokens: mint to / transfer to ``a`` and ``b`` twice each."""
    erc1155, _ = deploy_contract(gov, "PlainERC1155")
    erc20, _ = deploy_contract(gov, "PlainERC20")
    f1155, f20 = erc1155.functions, erc20.functions
    gov.transact(f1155.mint(holder.address, 1, 10**6, b""))
    gov.transact(f20.mint(holder.address, 10**24))
    gas: dict[str, int] = {}
    for label, send in (
        (M_NEW, lambda: gov.transact(f1155.mint(a, 1, 1_000, b""))),
        (M_OLD, lambda: gov.transact(f1155.mint(a, 1, 1_000, b""))),
        (T_NEW, lambda: holder.transact(f1155.safeTransferFrom(holder.address, b, 1, 10, b""))),
        (T_OLD, lambda: holder.transact(f1155.safeTransferFrom(holder.address, b, 1, 10, b""))),
        (E_NEW, lambda: holder.transact(f20.transfer(a, 10))),
        (E_OLD, lambda: holder.transact(f20.transfer(a, 10))),
    ):
        gas[label] = send().gas_used
    return gas


def dep_grace(client: ComputeClient) -> int:
    return int(client.jobs.functions.settlementGrace().call())


def _operations(w3: Web3, dep: Deployment, s: list[Sender]) -> dict[str, int]:
    """Gas of each user operation, walked through in a provider's and a holder's order."""
    gov, provider, holder, other, meter, fresh = s
    g, p, h, o, m = (ComputeClient(x, dep) for x in (gov, provider, holder, other, meter))
    gov.transact(g.jobs.functions.grantRole(role("METERING_ROLE"), meter.address))
    gov.transact(g.token.functions.transfer(provider.address, 100_000 * WAD))
    gas: dict[str, int] = {}
    gas["provider register"] = p.register("bafkreiprovidermetadata").gas_used
    approve, stake = p.stake(50_000 * WAD).txs
    gas["provider stake: approve"], gas["provider stake"] = approve.gas_used, stake.gas_used
    now = int(w3.eth.get_block("latest")["timestamp"])
    created = p.create_series(1, now, now + 30 * DAY)
    sid = created.value
    gas["series create"] = created.txs[0].gas_used
    gas["credit mint (new)"] = p.mint(sid, 36_000, holder.address).gas_used
    gas["credit mint (existing)"] = p.mint(sid, 36_000, holder.address).gas_used
    gas["credit transfer (new)"] = h.transfer(sid, fresh.address, 10).gas_used
    gas["credit transfer (existing)"] = h.transfer(sid, fresh.address, 10).gas_used

    first, second = h.open_job(sid, 3_600, SPEC), h.open_job(sid, 3_600, SPEC)
    gas["job open (first of the series in custody)"] = first.txs[0].gas_used
    gas["job open (series already in custody)"] = second.txs[0].gas_used
    gas["job acknowledge"] = p.acknowledge(first.value).gas_used
    gas["apply usage (first report)"] = m.apply_usage(first.value, 600).gas_used
    gas["apply usage (next report)"] = m.apply_usage(first.value, 600).gas_used
    gas["apply usage (last: serves the job)"] = m.apply_usage(first.value, 10_000).gas_used
    p.acknowledge(second.value)
    m.apply_usage(second.value, 100)
    gas["job close (after usage: starts settlement)"] = h.close(second.value).gas_used
    increase_time(w3, dep_grace(g))
    gas["job close (settles: credits back)"] = h.close(second.value).gas_used
    third = h.open_job(sid, 3_600, SPEC).value
    increase_time(w3, 3_601)
    gas["job claim (not acknowledged: credits burned, collateral paid)"] = h.claim(third).gas_used
    gas["release collateral"] = o.release_collateral(sid).gas_used
    gas["provider request unstake"] = p.request_unstake(100 * WAD).gas_used
    increase_time(w3, 30 * DAY)
    gas["provider withdraw"] = p.withdraw().gas_used
    gas["burn expired credits (the holder's own)"] = h.burn_expired(holder.address, sid, 1_000).gas_used
    return gas


def _batched_usage(w3: Web3, dep: Deployment, s: list[Sender], n: int = BATCH) -> dict[str, int]:
    """Marginal gas of one usage report inside a batch (what the metering oracle will pay):
    one transaction applies a first report to each of ``n`` acknowledged jobs."""
    gov, provider, holder = s[0], s[1], s[2]
    g, p, h = (ComputeClient(x, dep) for x in (gov, provider, holder))
    batcher, _ = deploy_contract(gov, "UsageBatcher", dep.address("Jobs"))
    gov.transact(g.jobs.functions.grantRole(role("METERING_ROLE"), batcher.address))
    now = int(w3.eth.get_block("latest")["timestamp"])
    sid = p.create_series(1, now, now + 30 * DAY).value
    p.mint(sid, 100 * (n + 1), holder.address)
    ids = []
    for _ in range(n + 1):
        job_id = h.open_job(sid, 100, SPEC).value
        p.acknowledge(job_id)
        ids.append(job_id)
    one = gov.transact(batcher.functions.applyAll(ids[:1], [10])).gas_used
    many = gov.transact(batcher.functions.applyAll(ids[1:], [10] * n)).gas_used
    return {f"apply usage in a batch of {n} (marginal per report)": (many - one) // (n - 1)}


#: Operation -> (baseline, budget text, limit from the baseline's gas).
BUDGETS = {
    "credit transfer (new)": (T_NEW, "<= 1.10x plain transfer", lambda b: 1.10 * b),
    "credit transfer (existing)": (T_OLD, "<= 1.10x plain transfer", lambda b: 1.10 * b),
    "credit mint (new)": (M_NEW, "<= 1.5x plain mint + 20,000", lambda b: 1.5 * b + STORAGE_WRITE),
    "credit mint (existing)": (
        M_OLD,
        "<= 1.5x plain mint + 20,000",
        lambda b: 1.5 * b + STORAGE_WRITE,
    ),
    "job open (first of the series in custody)": (E_NEW, "<= 150,000", lambda _b: 150_000),
    "job open (series already in custody)": (E_NEW, "<= 150,000", lambda _b: 150_000),
    "apply usage (first report)": (E_OLD, "<= 60,000", lambda _b: 60_000),
    "apply usage (next report)": (E_OLD, "<= 60,000", lambda _b: 60_000),
    "apply usage (last: serves the job)": (E_OLD, "<= 60,000", lambda _b: 60_000),
}
#: Unbudgeted operations are shown beside the closest plain operation.
NEAREST = {
    f"apply usage in a batch of {BATCH} (marginal per report)": T_OLD,
    "job close (settles: credits back, reserve unlocked)": T_OLD,
    "release penalty reserve (served job)": T_OLD,
    "burn expired credits (+ release)": T_OLD,
    "series create": M_NEW,
    "provider register": E_NEW,
    "provider stake: approve": E_NEW,
    "provider stake": E_NEW,
}


def run() -> list[Measurement]:
    with LocalChain() as chain, tempfile.TemporaryDirectory(prefix="bench-gas-") as tmp:
        w3 = connect(chain.url)
        senders = [Sender(w3, dev_account(i)) for i in range(6)]
        dep = deploy_all(
            senders[0], network="local", params=DeployParams(), directory=Path(tmp), save=False
        )
        gov, holder = senders[0], senders[2]
        gov.transact(dep.contract(w3, "ComputeToken").functions.transfer(holder.address, WAD))
        base = _baselines(gov, holder, dev_account(7).address, dev_account(8).address)
        ops = _operations(w3, dep, senders)
        ops.update(_batched_usage(w3, dep, senders))

    rows = [Measurement(f"baseline: {label}", gas, "gas") for label, gas in base.items()]
    for name, gas in ops.items():
        if name in BUDGETS:
            label, text, limit = BUDGETS[name]
            rows.append(
                Measurement(name, gas, "gas", label, base[label], text, gas <= limit(base[label]))
            )
        else:
            label = NEAREST.get(name, E_OLD)
            rows.append(Measurement(name, gas, "gas", label, base[label]))
    return rows
