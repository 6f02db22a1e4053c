"""The dataset manifest: what was sealed, where each shard is and how to check it.

Stored as canonical JSON (sorted keys, no spaces) in the content store; its CID is
the dataset's identity. Keys are never in it -- only their keccak256 commitments.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from backend.vault.aead import ALGORITHM, TAG_BYTES
from backend.vault.cid import normalize_cid
from backend.vault.content_store import ContentStore, fetch_verified
from backend.vault.errors import ManifestError
from backend.vault.merkle import merkle_root

FORMAT = "gpubarter-dataset-manifest/1"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_HEX32 = r"^0x[0-9a-f]{64}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Licence(_Model):
    id: str = Field(min_length=1, description="SPDX identifier or a short name")
    terms: str = ""


class CipherInfo(_Model):
    algorithm: Literal["AES-256-GCM"] = ALGORITHM
    tag_bytes: Literal[16] = TAG_BYTES
    layout: Literal["ciphertext || tag"] = "ciphertext || tag"
    aad: Literal["gpubarter/vault/v1 shard {index} of {count}"] = (
        "gpubarter/vault/v1 shard {index} of {count}")


class ShardEntry(_Model):
    index: int = Field(ge=0)
    cid: str
    ciphertext_bytes: int = Field(ge=TAG_BYTES)
    plaintext_bytes: int = Field(ge=1)
    plaintext_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    nonce: str = Field(pattern=r"^[0-9a-f]{24}$")
    key_commitment: str = Field(pattern=_HEX32)
    rows: int | None = None

    @field_validator("cid")
    @classmethod
    def _cid(cls, v: str) -> str:
        return normalize_cid(v)


class Manifest(_Model):
    format: Literal["gpubarter-dataset-manifest/1"] = FORMAT
    name: str
    kind: str
    schema_: dict[str, Any] = Field(alias="schema")
    source_bytes: int = Field(ge=1)
    licence: Licence
    cipher: CipherInfo = CipherInfo()
    shards: list[ShardEntry] = Field(min_length=1)
    merkle_root: str = Field(pattern=_HEX32)
    merkle_scheme: str = ("keccak256 sorted pairs; leaf = keccak256(keccak256(abi.encode("
                          "uint256 index, bytes32 plaintext_sha256)))")

    @property
    def k(self) -> int:
        return len(self.shards)

    def shard(self, index: int) -> ShardEntry:
        if not 0 <= index < self.k:
            raise ManifestError(f"the dataset has {self.k} shards (0..{self.k - 1}); "
                                f"there is no shard {index}")
        return self.shards[index]

    def computed_root(self) -> str:
        return "0x" + merkle_root([bytes.fromhex(s.plaintext_sha256) for s in self.shards]).hex()

    def to_bytes(self) -> bytes:
        doc = self.model_dump(by_alias=True, mode="json")
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, data: bytes, *, where: str) -> Manifest:
        try:
            m = cls.model_validate(json.loads(data))
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[:3]
            raise ManifestError(f"{where} is not a valid dataset manifest: "
                                f"{' '.join(first)}") from None
        if [s.index for s in m.shards] != list(range(m.k)):
            raise ManifestError(f"{where}: shard indexes are not 0..{m.k - 1} in order")
        if m.computed_root() != m.merkle_root:
            raise ManifestError(f"{where}: its Merkle root does not match its shard hashes")
        return m


def load_manifest(store: ContentStore, cid: str) -> Manifest:
    """Fetch a manifest, prove it matches ``cid``, and validate it."""
    try:
        cid = normalize_cid(cid)
    except ValueError as exc:
        raise ManifestError(str(exc)) from None
    data = fetch_verified(store, cid, what=f"manifest {cid}", limit=MAX_MANIFEST_BYTES)
    return Manifest.parse(data, where=f"manifest {cid}")
