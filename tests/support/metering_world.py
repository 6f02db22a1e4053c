"""Shared helpers for MeteringOracle tests: build, sign and submit usage batches."""

from __future__ import annotations

from typing import Any

from compute_world import World

from gpubarter.chain.tx import Sender, TxResult
from oracle.reports import UsageReport, domain, sign_batch

GPU = "GPU-simulated-00000000-0000-0000-0000-000000000000"
MODEL = "NVIDIA H100 80GB HBM3 (simulated)"


def oracle_of(w: World) -> Any:
    return w.deployment.contract(w.w3, "MeteringOracle")


def report(w: World, job_id: int, ms: int, *, gpu: str = GPU, end: int | None = None) -> UsageReport:
    return UsageReport(job_id, gpu, MODEL, ms, ms // 2, ms * 300, max(1, ms // 1000),
                       w.now() if end is None else end)


def signatures(reports: list[UsageReport], signers: list[Sender], dom: dict[str, Any]) -> list[bytes]:
    """One signature per signer, ordered by signer address (as the contract requires)."""
    ordered = sorted(signers, key=lambda s: int(s.address, 16))
    return [sign_batch(s.account, dom, reports) for s in ordered]


def submit(w: World, reports: list[UsageReport], signers: list[Sender], *, dom: dict[str, Any] | None = None,
           by: Sender | None = None, raw: list[bytes] | None = None) -> TxResult:
    oracle = oracle_of(w)
    dom = dom or domain(w.w3.eth.chain_id, oracle.address)
    sigs = raw if raw is not None else signatures(reports, signers, dom)
    return (by or w.gov.sender).transact(oracle.functions.submit([r.as_tuple() for r in reports], sigs))


def entries_of(w: World, result: TxResult) -> list[tuple[int, int]]:
    oracle = oracle_of(w)
    from web3.logs import DISCARD
    logs = oracle.events.UsageAccepted().process_receipt(result.receipt, errors=DISCARD)
    return [(log["args"]["jobId"], log["args"]["gpuSeconds"]) for log in logs]
