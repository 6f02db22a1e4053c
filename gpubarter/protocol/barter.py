"""Cooperatives and barter deals: one typed function per user action.

:class:`BarterClient` wraps the CooperativeFactory, each DataCooperative and the BarterEscrow for
one signer. Cooperative actions (shares, datasets, offers, key release) go through the
cooperative contract, which owns the datasets and makes the offers; provider actions (accept,
dispute) go to the escrow directly. Sealing itself lives in :mod:`gpubarter.protocol.sealing`.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import EventData

from gpubarter.chain.contracts import contract_at
from gpubarter.chain.logs import find_latest
from gpubarter.chain.tx import Sender, TxResult
from gpubarter.deployment_record import Deployment
from gpubarter.errors import ChainError
from gpubarter.protocol import sealing
from gpubarter.protocol.credits import ComputeClient, Sent
from gpubarter.protocol.sealing import KeyPair, Point, SealedKey


@dataclass(frozen=True)
class OfferTerms:
    """``BarterTypes.OfferTerms``, field for field."""

    dataset_id: int
    class_id: int
    gpu_seconds: int
    start: int
    end: int
    steps: int
    key_timeout_s: int
    bond_wei: int

    def encode(self) -> tuple[int, ...]:
        return astuple(self)


DEAL_STATUS = ("none", "offered", "cancelled", "accepted", "cooperative faulted", "settled")


@dataclass(frozen=True)
class DealInfo:
    """``BarterTypes.Deal`` with names; ``status`` is the enum's value (see :data:`DEAL_STATUS`)."""

    deal_id: int
    maker: str
    status: int
    steps: int
    released: int
    due_since: int
    provider: str
    start: int
    end: int
    series_id: int
    gpu_seconds: int
    dataset_id: int
    key_timeout_s: int
    class_id: int
    bond_wei: int
    disputed: bool
    key_hash: bytes

    @classmethod
    def decode(cls, deal_id: int, raw: Any) -> DealInfo:
        fields = list(raw)
        fields[0], fields[5] = Web3.to_checksum_address(fields[0]), Web3.to_checksum_address(fields[5])
        fields[15] = bytes(fields[15])
        return cls(deal_id, *fields)

    @property
    def status_name(self) -> str:
        return DEAL_STATUS[self.status]

    def needed(self, step: int) -> int:
        """GPU-seconds delivered that make ``step`` (1-based) due: ceil(step * gpuSeconds / K)."""
        return -(-step * self.gpu_seconds // self.steps)


@dataclass(frozen=True)
class SettleCheck:
    """``BarterEscrow.settle``'s checks of an accepted deal, read ahead: the deal settles once its delivered
    total is final (``now >= settles_at`` and no usage ``held``) and every due key was released."""

    deal_id: int
    #: the window's end plus Jobs' largest settlement grace, and no sooner than one key timeout after the last
    #: key was released (``settlesAt``)
    settles_at: int
    now: int  # the latest block's time
    held: int  # challenged usage entries of the deal's series the metering oracle still holds back
    released: int
    due: int

    @property
    def outstanding(self) -> range:
        """The steps whose keys are due and not released (they settle by their own clock, not by settle)."""
        return range(self.released + 1, self.due + 1)

    @property
    def ready(self) -> bool:
        return self.now >= self.settles_at and self.held == 0 and not self.outstanding


class BarterClient(ComputeClient):
    """The barter side of the protocol (plus everything of :class:`ComputeClient`) for one signer."""

    def __init__(self, sender: Sender, deployment: Deployment, *, log_range: int | None = None) -> None:
        super().__init__(sender, deployment, log_range=log_range)
        self.escrow = deployment.contract(self.w3, "BarterEscrow")
        self.factory = deployment.contract(self.w3, "CooperativeFactory")
        self.datasets = deployment.contract(self.w3, "DatasetRegistry")

    def cooperative(self, address: str) -> Contract:
        return contract_at(self.w3, "DataCooperative", address)

    # ------------------------------------------------------------ cooperative

    def create_cooperative(self, name: str, admin: str | None = None) -> Sent[str]:
        result = self._send(self.factory.functions.create(admin or self.sender.address, name))
        logs = self.factory.events.CooperativeCreated().process_receipt(result.receipt, errors=DISCARD)
        return Sent(Web3.to_checksum_address(logs[0]["args"]["cooperative"]), (result,))

    def set_shares(self, coop: str, member: str, shares: int) -> TxResult:
        return self._send(self.cooperative(coop).functions.setShares(member, shares))

    def register_dataset(
        self, coop: str, manifest_cid: str, commitments: list[bytes], merkle_root: bytes, appraisal: bytes
    ) -> Sent[int]:
        fn = self.cooperative(coop).functions.registerDataset(
            manifest_cid, len(commitments), commitments, merkle_root, appraisal
        )
        result = self._send(fn)
        return Sent(self._event_arg(self.datasets, "DatasetRegistered", result, "datasetId"), (result,))

    def offer(self, coop: str, terms: OfferTerms) -> Sent[int]:
        result = self._send(self.cooperative(coop).functions.offer(terms.encode()))
        return Sent(self._event_arg(self.escrow, "DealOffered", result, "dealId"), (result,))

    def cancel_offer(self, coop: str, deal_id: int) -> TxResult:
        return self._send(self.cooperative(coop).functions.cancelOffer(deal_id))

    def release(self, coop: str, deal_id: int, step: int, sealed: SealedKey) -> TxResult:
        rx, ry = sealed.r_point
        return self._send(self.cooperative(coop).functions.release(deal_id, step, rx, ry, sealed.c))

    def claim_next(self, coop: str) -> TxResult:
        """Claim the signer's next distribution of cooperative ``coop`` (a zero part just advances)."""
        return self._send(self.cooperative(coop).functions.claim())

    def claim_all(self, coop: str) -> list[TxResult]:
        """Claim every open distribution the signer has not claimed yet, in order."""
        c = self.cooperative(coop).functions
        nxt = c.nextClaimOf(self.sender.address).call()
        if nxt == 0:
            return []
        return [self.claim_next(coop) for _ in range(c.distributionCount().call() + 1 - nxt)]

    # --------------------------------------------------------------- provider

    def accept(self, deal_id: int, public: Point) -> Sent[int]:
        """Accept ``deal_id`` with the per-deal public key; the value is the new series id."""
        result = self._send(self.escrow.functions.accept(deal_id, *public))
        return Sent(self._event_arg(self.escrow, "DealAccepted", result, "seriesId"), (result,))

    def dispute(self, deal_id: int, step: int, keys: KeyPair, sealed: SealedKey) -> Sent[None]:
        """Approve the dispute bond (when short) and dispute ``step`` by revealing the deal's secret."""
        txs: list[TxResult] = []
        bond = self.escrow.functions.disputeBond().call()
        if self.token.functions.allowance(self.sender.address, self.escrow.address).call() < bond:
            txs.append(self._send(self.token.functions.approve(self.escrow.address, bond)))
        args = (deal_id, step, keys.secret, *keys.public, *sealed.r_point, sealed.c)
        call = self.escrow.functions.dispute(*args)
        txs.append(self._send(call))
        return Sent(None, tuple(txs))

    # ----------------------------------------------------------------- anyone

    def mark_due(self, deal_id: int) -> TxResult:
        return self._send(self.escrow.functions.markDue(deal_id))

    def claim_key_timeout(self, deal_id: int) -> TxResult:
        return self._send(self.escrow.functions.claimKeyTimeout(deal_id))

    def settle(self, deal_id: int) -> TxResult:
        return self._send(self.escrow.functions.settle(deal_id))

    def settle_check(self, deal: DealInfo) -> SettleCheck:
        """What stands between accepted deal ``deal`` and its settlement (see :class:`SettleCheck`)."""
        escrow = self.escrow.functions
        return SettleCheck(
            deal.deal_id,
            settles_at=escrow.settlesAt(deal.deal_id).call(),
            now=int(self.w3.eth.get_block("latest")["timestamp"]),
            held=self.jobs.functions.seriesHoldsOf(deal.series_id).call(),
            released=deal.released,
            due=escrow.dueSteps(deal.deal_id).call(),
        )

    def deal(self, deal_id: int) -> Any:
        return self.sender.call(self.escrow.functions.dealOf(deal_id))

    def deal_info(self, deal_id: int) -> DealInfo:
        return DealInfo.decode(deal_id, self.deal(deal_id))

    def manifest_of(self, dataset_id: int) -> tuple[str, str]:
        """(owner, manifest CID) of dataset ``dataset_id``."""
        ds = self.datasets.functions.getDataset(dataset_id).call()
        return Web3.to_checksum_address(ds[0]), ds[6]

    def public_key_of(self, deal: DealInfo) -> Point:
        """The per-deal public key the provider accepted ``deal`` with (from its DealAccepted log)."""
        log = find_latest(
            self.escrow.events.DealAccepted(), from_block=self.deployment.block_of("BarterEscrow"),
            max_range=self.log_range, argument_filters={"dealId": deal.deal_id},
            where=lambda log: sealing.key_hash(_public_point(log)) == deal.key_hash)
        if log is None:
            raise ChainError(f"the public key of deal {deal.deal_id} is not in the chain's logs")
        return _public_point(log)

    def released_key(self, deal: DealInfo, step: int, from_block: int | None = None) -> SealedKey:
        """The sealed key released for ``step`` (its KeyReleased log, checked against the escrow's hash),
        searched newest first down to ``from_block`` (default: the escrow's deployment block; a provider
        passes the block it accepted the deal in)."""
        want = bytes(self.escrow.functions.releaseHashOf(deal.deal_id, step).call())
        log = find_latest(
            self.escrow.events.KeyReleased(),
            from_block=self.deployment.block_of("BarterEscrow") if from_block is None else from_block,
            max_range=self.log_range, argument_filters={"dealId": deal.deal_id, "step": step},
            where=lambda log: sealing.release_hash(_sealed_key(log))[:27] == want[:27])
        if log is None:
            raise ChainError(f"step {step} of deal {deal.deal_id} was not released "
                             "(no matching KeyReleased log)")
        return _sealed_key(log)


def _public_point(log: EventData) -> Point:
    return log["args"]["px"], log["args"]["py"]


def _sealed_key(log: EventData) -> SealedKey:
    return SealedKey((log["args"]["rx"], log["args"]["ry"]), bytes(log["args"]["c"]))
