"""A deal's keys, for whoever holds them: the provider's per-deal secret (made and kept on the provider's
side, never sent anywhere), and the checks around a step's key that the key agents and the
``gpubarter deal`` commands share: a cooperative seals only a key that matches the dataset's on-chain
commitment; a provider opens a released key and judges it against that commitment.

``<key_dir>/deal-<id>.json`` (0600, folder 0700) holds the secret d, its public key, the block the deal
was accepted in, and the steps whose released key was wrong (``wrong_steps``). It is written *before*
the acceptance is sent, so a crash never loses the secret of an accepted deal; never logged or printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpubarter.errors import ConfigError
from gpubarter.private_files import private_dir, read_private_json, write_private_json
from gpubarter.protocol import sealing
from gpubarter.protocol.barter import BarterClient, DealInfo
from gpubarter.protocol.credits import Sent
from gpubarter.protocol.sealing import Point, SealedKey, SealingError


class DealKeys:
    """The per-deal key files of one provider."""

    def __init__(self, key_dir: Path) -> None:
        self.root = Path(key_dir)

    def path(self, deal_id: int) -> Path:
        return self.root / f"deal-{deal_id}.json"

    def load(self, deal_id: int) -> dict[str, Any]:
        path = self.path(deal_id)
        if not path.exists():
            raise ConfigError(f"no key file for deal {deal_id} in {self.root}: the deal was accepted with "
                              "another key directory")
        return read_private_json(path)

    def pair(self, deal_id: int) -> sealing.KeyPair:
        doc = self.load(deal_id)
        secret = int(doc["secret"], 16)
        return sealing.KeyPair(secret, sealing.public_key(secret))

    def create_or_load(self, deal_id: int) -> sealing.KeyPair:
        """The deal's key pair: the one already on disk (a retried acceptance), else a fresh one."""
        private_dir(self.root)
        if self.path(deal_id).exists():
            return self.pair(deal_id)
        pair = sealing.keygen()
        write_private_json(self.path(deal_id), {"deal": deal_id, "secret": hex(pair.secret),
                                                "public": list(pair.public), "accepted_block": None})
        return pair

    def update(self, deal_id: int, **fields: Any) -> None:
        write_private_json(self.path(deal_id), {**self.load(deal_id), **fields})

    @staticmethod
    def wrong_steps(doc: dict[str, Any]) -> set[int]:
        """The steps of a key file whose released key was wrong (``disputed_step``: files of older agents)."""
        wrong = {int(s) for s in doc.get("wrong_steps", [])}
        return wrong | {int(doc["disputed_step"])} if doc.get("disputed_step") else wrong

    def mark_wrong(self, deal_id: int, step: int) -> None:
        self.update(deal_id, wrong_steps=sorted(self.wrong_steps(self.load(deal_id)) | {step}))


def accept_with_fresh_key(client: BarterClient, keys: DealKeys, deal_id: int) -> Sent[int]:
    """Accept ``deal_id`` with a fresh per-deal key, stored before the transaction is sent; the value is
    the new series id."""
    pair = keys.create_or_load(deal_id)
    sent = client.accept(deal_id, pair.public)
    keys.update(deal_id, accepted_block=sent.txs[-1].block_number)
    return sent


def key_matches(client: BarterClient, dataset_id: int, step: int, key: bytes) -> bool:
    """Whether ``key`` is the one dataset ``dataset_id`` committed to for ``step`` (1-based)."""
    return sealing.commitment(key) == bytes(client.datasets.functions.commitment(dataset_id, step - 1).call())


def seal_for_release(client: BarterClient, deal: DealInfo, step: int, key: bytes,
                     public: Point | None = None) -> SealedKey:
    """``key`` sealed to the provider's per-deal key (``public``, else read from the chain), once it is
    known to match its commitment: a wrong key would lose the cooperative's bond."""
    if not key_matches(client, deal.dataset_id, step, key):
        raise ConfigError(f"the key store's key of step {step} of dataset {deal.dataset_id} does not match "
                          "its on-chain commitment; not releasing it (a wrong key loses the bond)")
    return sealing.seal(key, public if public is not None else client.public_key_of(deal), step)


@dataclass(frozen=True)
class ReleasedKey:
    """A step's released key as the provider finds it: sealed, opened (``None`` when it cannot be: its R
    is no curve point, which the escrow judges wrong) and judged against the commitment."""

    step: int
    sealed: SealedKey
    key: bytes | None
    right: bool
    why_unopened: str = ""


def read_released(client: BarterClient, keys: DealKeys, deal: DealInfo, step: int) -> ReleasedKey:
    """Find step ``step``'s released key of ``deal`` (searching from the block the deal was accepted in),
    open it with the per-deal secret and judge it."""
    pair = keys.pair(deal.deal_id)
    sealed = client.released_key(deal, step, keys.load(deal.deal_id).get("accepted_block"))
    try:
        key = sealing.open_sealed(pair.secret, sealed, step)
    except SealingError as exc:
        return ReleasedKey(step, sealed, None, False, str(exc))
    return ReleasedKey(step, sealed, key, key_matches(client, deal.dataset_id, step, key))
