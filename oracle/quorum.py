"""Gathering a quorum of signatures for a batch from co-signing peers (threshold > 1).

The submitting node signs its batch itself; when the MeteringOracle's threshold asks for more,
it asks each ``--peer`` (a ``gpubarter oracle cosign`` node on 127.0.0.1 or behind an operator's
tunnel) with ``POST /v1/cosign``. A peer answers its address and signature or refuses with a
reason. Every answer is checked here before it is kept: the signature must recover, over the
batch's own EIP-712 digest, to the address the peer claims, and that address must be in the
current signer set. Signatures are persisted per batch, so a restart never asks again for one it
already holds. Only ``threshold`` signatures go on-chain, ordered by signer address as the
contract requires (each extra one would only cost gas).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict
from typing import Any

from eth_account import Account

from oracle.errors import OracleError
from oracle.meter_store import Batch, MeterStore
from oracle.reports import UsageReport, batch_digest, domain

TIMEOUT_S = 5.0


class QuorumError(OracleError):
    """Fewer valid signatures than the threshold could be gathered for a batch."""


def request_body(chain_id: int, verifying_contract: str, reports: tuple[UsageReport, ...]) -> bytes:
    return json.dumps({"chain_id": chain_id, "verifying_contract": verifying_contract,
                       "reports": [asdict(r) for r in reports]}).encode()


def recover(digest: bytes, signature: bytes) -> str:
    if len(signature) != 65:
        raise OracleError(f"a signature is 65 bytes, not {len(signature)}")
    return Account._recover_hash(digest, signature=signature)


def ask(peer: str, body: bytes) -> dict[str, Any]:
    """One peer's answer: ``{"signer", "signature"}`` or raise ``OracleError`` with its reason."""
    req = urllib.request.Request(peer.rstrip("/") + "/v1/cosign", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            why = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            why = exc.reason
        raise OracleError(f"peer {peer} refused: {why}") from None
    except (OSError, ValueError) as exc:
        raise OracleError(f"peer {peer} unreachable: {exc}") from None


def gather(store: MeterStore, batch: Batch, peers: list[str], signer_set: list[str],
           threshold: int) -> list[bytes]:
    """``threshold`` signatures of signer-set members over ``batch``, ordered by signer address."""
    members = {a.lower() for a in signer_set}
    digest = batch_digest(domain(batch.chain_id, batch.verifying_contract), list(batch.reports))
    held = {batch.signer.lower(): bytes.fromhex(batch.signature[2:])}
    held.update({s.lower(): sig for s, sig in store.cosignatures(batch.id).items()})
    held = {s: sig for s, sig in held.items() if s in members}
    problems = []
    body = request_body(batch.chain_id, batch.verifying_contract, batch.reports)
    for peer in peers:
        if len(held) >= threshold:
            break
        try:
            answer = ask(peer, body)
            signature = bytes.fromhex(str(answer["signature"]).removeprefix("0x"))
            signer = recover(digest, signature).lower()
        except (OracleError, KeyError, ValueError) as exc:
            problems.append(str(exc))
            continue
        if signer != str(answer.get("signer", "")).lower():
            problems.append(f"peer {peer} sent a signature of {signer}, not of {answer.get('signer')}")
        elif signer not in members:
            problems.append(f"peer {peer} signs as {signer}, which is not in the signer set")
        elif signer not in held:
            store.add_cosignature(batch.id, signer, signature)
            held[signer] = signature
    if len(held) < threshold:
        raise QuorumError(f"batch {batch.id} has {len(held)} of the {threshold} signatures it needs"
                          + (": " + "; ".join(problems) if problems else " (no --peer to ask)"))
    return [held[s] for s in sorted(held, key=lambda a: int(a, 16))[:threshold]]
