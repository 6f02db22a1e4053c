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

from gpubarter.chain.contracts import Deployment, contract_at
from gpubarter.chain.tx import Sender, TxResult
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


class BarterClient(ComputeClient):
    """The barter side of the protocol (plus everything of :class:`ComputeClient`) for one signer."""

    def __init__(self, sender: Sender, deployment: Deployment) -> None:
        super().__init__(sender, deployment)
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

    def deal(self, deal_id: int) -> Any:
        return self.escrow.functions.dealOf(deal_id).call()
