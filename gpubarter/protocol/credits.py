"""Providers, stake, GPU-hour credit series and jobs: one typed function per user action.

The CLI, the oracle and the backend all go through :class:`ComputeClient`. Amounts are in
protocol units (GPU-seconds, CPT wei); :mod:`gpubarter.protocol.units` converts from what
users type. Every write returns the :class:`~gpubarter.chain.tx.TxResult` (hash, gas) of each
transaction it sent; a revert raises :class:`~gpubarter.errors.TransactionReverted` whose
``reason`` is the decoded custom error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from gpubarter.chain.logs import find_logs
from gpubarter.chain.network import log_range_for
from gpubarter.chain.tx import Sender, TxResult
from gpubarter.deployment_record import Deployment
from gpubarter.errors import ConfigError
from gpubarter.protocol.types import GpuClass, Job, ProviderInfo, Series

T = TypeVar("T")

CONTRACTS = ("ComputeToken", "GpuClasses", "ProviderRegistry", "ComputeCredits", "Jobs")


@dataclass(frozen=True)
class Sent(Generic[T]):
    """What a write produced (a new id, or None) and every transaction it took."""

    value: T
    txs: tuple[TxResult, ...]


class ComputeClient:
    """The compute side of the protocol for one signer on one chain.

    Log searches start at the searched contract's deployment block and ask for at most
    ``log_range`` blocks per request (default: the deployment's network's ``max_log_range``).
    """

    def __init__(self, sender: Sender, deployment: Deployment, *, log_range: int | None = None) -> None:
        self.sender = sender
        self.w3: Web3 = sender.w3
        self.deployment = deployment
        self.log_range = log_range if log_range is not None else log_range_for(deployment.network)
        self.token, self.classes, self.registry, self.credits, self.jobs = (
            deployment.contract(self.w3, name) for name in CONTRACTS
        )

    # ------------------------------------------------------------------ reads

    def gpu_class(self, class_id: int) -> GpuClass:
        raw = self.sender.call(self.classes.functions.classOf(class_id))
        return GpuClass.decode(class_id, self.classes.functions.nameOf(class_id).call(), raw)

    def gpu_classes(self) -> list[GpuClass]:
        """Every class governance defined, current parameters (from ``GpuClassSet`` events)."""
        logs = find_logs(self.classes.events.GpuClassSet(), from_block=self.deployment.block_of("GpuClasses"),
                         max_range=self.log_range)
        ids = sorted({int(log["args"]["classId"]) for log in logs})
        return [self.gpu_class(i) for i in ids]

    def resolve_class(self, text: str) -> GpuClass:
        """A class by id (``1``) or name (``nvidia-h100-80gb``)."""
        if text.strip().isdigit():
            return self.gpu_class(int(text))
        for c in self.gpu_classes():
            if c.name == text.strip():
                return c
        known = ", ".join(f"{c.class_id}={c.name}" for c in self.gpu_classes()) or "none"
        raise ConfigError(f"unknown GPU class {text!r}; known classes: {known}")

    def provider(self, address: str | None = None) -> ProviderInfo:
        who = Web3.to_checksum_address(address or self.sender.address)
        raw = self.registry.functions.providerOf(who).call()
        return ProviderInfo.decode(who, raw, self.registry.functions.metadataOf(who).call())

    def series(self, series_id: int) -> Series:
        raw = self.sender.call(self.credits.functions.seriesOf(series_id))
        return Series.decode(series_id, raw)

    def job(self, job_id: int) -> Job:
        return Job.decode(job_id, self.sender.call(self.jobs.functions.jobOf(job_id)))

    def credit_balance(self, series_id: int, address: str | None = None) -> int:
        who = Web3.to_checksum_address(address or self.sender.address)
        return int(self.credits.functions.balanceOf(who, series_id).call())

    def cpt_balance(self, address: str | None = None) -> int:
        who = Web3.to_checksum_address(address or self.sender.address)
        return int(self.token.functions.balanceOf(who).call())

    def delivered(self, series_id: int) -> int:
        return int(self.credits.functions.deliveredOf(series_id).call())

    def metadata(self, series_id: int) -> dict[str, Any]:
        """The metadata JSON of a series (what ``uri(id)`` serves)."""
        s = self.series(series_id)
        return s.metadata(self.classes.functions.nameOf(s.class_id).call())

    # -------------------------------------------------------------- providers

    def register(self, metadata_cid: str) -> TxResult:
        return self._send(self.registry.functions.register(metadata_cid))

    def update_metadata(self, metadata_cid: str) -> TxResult:
        return self._send(self.registry.functions.updateMetadata(metadata_cid))

    def stake(self, amount_wei: int) -> Sent[None]:
        """Approve the registry (when the allowance is short) and stake ``amount_wei``."""
        txs: list[TxResult] = []
        registry = self.registry.address
        if self.token.functions.allowance(self.sender.address, registry).call() < amount_wei:
            txs.append(self._send(self.token.functions.approve(registry, amount_wei)))
        txs.append(self._send(self.registry.functions.stake(amount_wei)))
        return Sent(None, tuple(txs))

    def request_unstake(self, amount_wei: int) -> TxResult:
        return self._send(self.registry.functions.requestUnstake(amount_wei))

    def withdraw(self) -> TxResult:
        return self._send(self.registry.functions.withdraw())

    # ----------------------------------------------------------------- series

    def create_series(self, class_id: int, start: int, end: int) -> Sent[int]:
        result = self._send(self.credits.functions.createSeries(class_id, start, end))
        return Sent(self._event_arg(self.credits, "SeriesCreated", result, "seriesId"), (result,))

    def mint(
        self, series_id: int, seconds: int, to: str | None = None, data: bytes = b""
    ) -> TxResult:
        recipient = Web3.to_checksum_address(to or self.sender.address)
        return self._send(self.credits.functions.mint(series_id, recipient, seconds, data))

    def transfer(self, series_id: int, to: str, seconds: int, data: bytes = b"") -> TxResult:
        return self._send(
            self.credits.functions.safeTransferFrom(
                self.sender.address, Web3.to_checksum_address(to), series_id, seconds, data
            )
        )

    def release_collateral(self, series_id: int) -> TxResult:
        return self._send(self.credits.functions.releaseCollateral(series_id))

    def burn_expired(self, holder: str, series_id: int, seconds: int) -> TxResult:
        return self._send(
            self.credits.functions.burnExpired(Web3.to_checksum_address(holder), series_id, seconds)
        )

    # ------------------------------------------------------------------- jobs

    def open_job(self, series_id: int, max_seconds: int, spec_cid: str) -> Sent[int]:
        result = self._send(self.jobs.functions.open(series_id, max_seconds, spec_cid))
        return Sent(self._event_arg(self.jobs, "JobOpened", result, "jobId"), (result,))

    def acknowledge(self, job_id: int) -> TxResult:
        return self._send(self.jobs.functions.acknowledge(job_id))

    def apply_usage(self, job_id: int, gpu_seconds: int) -> TxResult:
        """Apply newly delivered GPU-seconds (an increment) to a job; needs ``METERING_ROLE``."""
        return self._send(self.jobs.functions.applyUsage(job_id, gpu_seconds))

    def close(self, job_id: int) -> TxResult:
        return self._send(self.jobs.functions.close(job_id))

    def claim(self, job_id: int) -> TxResult:
        return self._send(self.jobs.functions.claim(job_id))

    # -------------------------------------------------------------- internals

    def _send(self, call: Any) -> TxResult:
        return self.sender.transact(call)

    @staticmethod
    def _event_arg(contract: Contract, event: str, result: TxResult, arg: str) -> int:
        logs = getattr(contract.events, event)().process_receipt(result.receipt, errors=DISCARD)
        if not logs:
            raise ConfigError(f"transaction {result.tx_hash} emitted no {event} event")
        return int(logs[0]["args"][arg])
