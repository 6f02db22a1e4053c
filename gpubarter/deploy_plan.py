"""The order in which the protocol's contracts are deployed, and their arguments.

Pure data with no web3 import, so both ``gpubarter deploy`` (web3 8) and
``brownie run scripts/deploy.py`` (brownie's own web3 7 environment) follow the
same plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

WAD = 10**18
DAY = 86_400


def role(name: str) -> bytes:
    """An AccessControl role id: ``keccak256(name)``."""
    return keccak(text=name)


@dataclass(frozen=True)
class GpuClassParams:
    """A GPU class as governance defines it at deployment (see ``IGpuClasses.setClass``)."""

    class_id: int
    name: str
    #: CPT wei locked per GPU-second of outstanding credits.
    collateral_rate: int
    ack_timeout_s: int
    penalty_bps: int
    active: bool = True


DEFAULT_GPU_CLASSES: tuple[GpuClassParams, ...] = (
    # Collateral of about 4 CPT per GPU-hour for an H100, scaled down for smaller slices.
    GpuClassParams(1, "nvidia-h100-80gb", 1_111_111_111_111_111, 3_600, 2_000),
    GpuClassParams(2, "nvidia-a100-80gb", 694_444_444_444_444, 3_600, 2_000),
    GpuClassParams(3, "nvidia-l4-24gb", 138_888_888_888_888, 3_600, 2_000),
)


@dataclass(frozen=True)
class DeployParams:
    initial_supply_cpt: int = 1_000_000
    faucet_amount_cpt: int = 1_000
    faucet_cooldown_s: int = 86_400
    #: Chain ids where the faucet works (dev/test chains: anvil, Sepolia, Base Sepolia, Arbitrum Sepolia);
    #: on every other chain it is off.
    faucet_chain_ids: tuple[int, ...] = (31337, 11155111, 84532, 421614)
    #: Seconds between a provider's unstake request and its withdrawal.
    unbonding_period_s: int = 7 * DAY
    #: ComputeCredits metadata base URI: ``uri(id)`` is this followed by the decimal series id.
    credits_base_uri: str = "http://127.0.0.1:8000/credits/"
    gpu_classes: tuple[GpuClassParams, ...] = DEFAULT_GPU_CLASSES
    #: Seconds late metered usage may still settle after a job is closed or past its deadline;
    #: at least the metering oracle's challenge period (it refuses a longer one).
    settlement_grace_s: int = 3_600
    #: Smallest bond a cooperative posts with a barter offer, and the provider's dispute bond (CPT).
    escrow_min_bond_cpt: int = 10
    escrow_dispute_bond_cpt: int = 10
    #: CreditExchange protocol fee in basis points (capped on-chain at 100) and its treasury
    #: (empty: the deployer).
    exchange_fee_bps: int = 20
    exchange_treasury: str = ""
    #: Seconds metered usage stays challengeable before it applies to Jobs (0: at once, for local runs).
    metering_challenge_period_s: int = 0
    #: Threshold of the metering oracle's signer set; the deployer is its only signer at deployment.
    metering_threshold: int = 1


@dataclass(frozen=True)
class Step:
    contract: str
    #: Constructor arguments from (deployer address, addresses deployed so far, params).
    args: Callable[[str, dict[str, str], DeployParams], list[Any]]


@dataclass(frozen=True)
class Call:
    """Transactions to an already deployed contract (role wiring, initial parameters)."""

    contract: str
    function: str
    #: One argument list per transaction, from (deployer, addresses deployed so far, params).
    each: Callable[[str, dict[str, str], DeployParams], list[list[Any]]]


def _grant(contract: str, role_name: str, grantee: str) -> Call:
    return Call(contract, "grantRole", lambda _d, a, _p: [[role(role_name), a[grantee]]])


PLAN: tuple[Step | Call, ...] = (
    Step("ComputeToken", lambda deployer, _a, p: [
        deployer, p.initial_supply_cpt * WAD, p.faucet_amount_cpt * WAD, p.faucet_cooldown_s]),
    # The faucet is fail-closed: on only for the chain ids listed as dev/test.
    Call("ComputeToken", "setFaucetChain", lambda _d, _a, p: [[c, True] for c in p.faucet_chain_ids]),
    # Compute side: GPU classes, providers' stake, credit series, jobs (issue 3).
    Step("GpuClasses", lambda deployer, _a, _p: [deployer]),
    Call("GpuClasses", "setClass", lambda _d, _a, p: [
        [c.class_id, c.name, c.collateral_rate, c.ack_timeout_s, c.penalty_bps, c.active]
        for c in p.gpu_classes]),
    Step("ProviderRegistry", lambda deployer, a, p: [
        deployer, a["ComputeToken"], p.unbonding_period_s]),
    Step("ComputeCredits", lambda deployer, a, p: [
        deployer, a["ProviderRegistry"], a["GpuClasses"], p.credits_base_uri]),
    Step("Jobs", lambda deployer, a, p: [deployer, a["ComputeCredits"], p.settlement_grace_s]),
    # Credits lock their own collateral (rate plus penalty) at mint and pay it out on a default.
    _grant("ProviderRegistry", "COLLATERAL_ROLE", "ComputeCredits"),
    _grant("ProviderRegistry", "SLASHER_ROLE", "ComputeCredits"),
    _grant("ComputeCredits", "JOBS_ROLE", "Jobs"),
    # Metering (issue 4): the oracle settles signed usage reports and applies them to Jobs.
    Step("MeteringOracle", lambda deployer, a, p: [
        deployer, a["Jobs"], a["ComputeToken"], p.metering_challenge_period_s]),
    Call("MeteringOracle", "setSigners", lambda deployer, _a, p: [[[deployer], p.metering_threshold]]),
    _grant("Jobs", "METERING_ROLE", "MeteringOracle"),
    # Datasets (issue 5): governance administers it and grants DEAL_ROLE to the escrow later.
    Step("DatasetRegistry", lambda deployer, _a, _p: [deployer]),
    # Barter (issue 6): the escrow creates data-backed series, freezes them on a key timeout
    # (SERIES_ISSUER_ROLE) and locks datasets for deals (DEAL_ROLE); the factory makes cooperatives.
    Step("BarterEscrow", lambda _d, a, p: [
        a["ComputeToken"], a["ComputeCredits"], a["DatasetRegistry"], a["Jobs"],
        p.escrow_min_bond_cpt * WAD, p.escrow_dispute_bond_cpt * WAD]),
    _grant("ComputeCredits", "SERIES_ISSUER_ROLE", "BarterEscrow"),
    _grant("DatasetRegistry", "DEAL_ROLE", "BarterEscrow"),
    Step("CooperativeFactory", lambda _d, a, _p: [
        a["ComputeToken"], a["ComputeCredits"], a["DatasetRegistry"], a["BarterEscrow"]]),
    # Credit exchange (issue 8): signed orders for credits against CPT.
    Step("CreditExchange", lambda deployer, a, p: [
        deployer, a["ComputeCredits"], a["ComputeToken"], p.exchange_treasury or deployer,
        p.exchange_fee_bps]),
    # The exchange caches each series' frozen flag; ComputeCredits tells it of every freeze.
    Call("ComputeCredits", "setSeriesListener", lambda _d, a, _p: [[a["CreditExchange"]]]),
)
