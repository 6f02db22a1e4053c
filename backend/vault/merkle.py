"""The Merkle root over the shards' plaintext SHA-256 digests, checkable on-chain.

Leaves are OpenZeppelin ``StandardMerkleTree``-style double hashes,
``keccak256(keccak256(abi.encode(uint256 index, bytes32 sha256)))``, and parents hash
their two children in sorted order (``keccak256(min || max)``), so a proof verifies
with OpenZeppelin's ``MerkleProof.verify``. An odd node at the end of a level moves
up unchanged.
"""

from __future__ import annotations

from eth_utils import keccak


def leaf(index: int, sha256: bytes) -> bytes:
    return keccak(keccak(index.to_bytes(32, "big") + sha256))


def _parent(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    levels = [leaves]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        levels.append([_parent(cur[i], cur[i + 1]) if i + 1 < len(cur) else cur[i]
                       for i in range(0, len(cur), 2)])
    return levels


def merkle_root(digests: list[bytes]) -> bytes:
    if not digests:
        raise ValueError("a Merkle root needs at least one leaf")
    return _levels([leaf(i, d) for i, d in enumerate(digests)])[-1][0]


def merkle_proof(digests: list[bytes], index: int) -> list[bytes]:
    levels = _levels([leaf(i, d) for i, d in enumerate(digests)])
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def verify_proof(root: bytes, index: int, sha256: bytes, proof: list[bytes]) -> bool:
    node = leaf(index, sha256)
    for sibling in proof:
        node = _parent(node, sibling)
    return node == root
