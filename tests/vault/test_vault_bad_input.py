"""Bad input is refused clearly, leaves nothing half-written, and a retry succeeds."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.vault.aead import key_commitment, new_key
from backend.vault.content_store import add_bytes
from backend.vault.embedded_store import EmbeddedStore
from backend.vault.errors import (
    ContentNotFound,
    DatasetInputError,
    IntegrityError,
    KeyStoreError,
    ManifestError,
    StoreUnavailable,
    WrongKeyError,
)
from backend.vault.ipfs_store import IpfsStore
from backend.vault.keystore import KeyStore
from backend.vault.manifest import load_manifest
from backend.vault.seal import SealResult, seal_dataset
from backend.vault.unseal import open_shard
from devservers.ipfs import LocalIpfsNode
from gpubarter.process import free_port
from tests.vault.conftest import leftovers


@pytest.fixture
def sealed(tmp_path: Path, embedded_store: EmbeddedStore, keystore: KeyStore) -> SealResult:
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(600_000))
    return seal_dataset(src, 3, embedded_store, keystore)


def refuse_open(store: EmbeddedStore | IpfsStore, cid: str, index: int, key: bytes, out: Path,
                error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        open_shard(store, cid, index, key, out)
    assert not out.exists()
    assert not leftovers(out.parent)


def test_truncated_ciphertext_is_refused_and_a_restored_copy_opens(
        tmp_path: Path, embedded_store: EmbeddedStore, keystore: KeyStore,
        sealed: SealResult) -> None:
    obj = embedded_store.path_of(sealed.manifest.shards[1].cid)
    good = obj.read_bytes()
    obj.write_bytes(good[:-100])
    out = tmp_path / "out" / "shard1"
    out.parent.mkdir()
    refuse_open(embedded_store, sealed.manifest_cid, 1, keystore.key(sealed.manifest_cid, 1), out,
                IntegrityError, "does not match its CID")
    obj.write_bytes(good)  # the fault is repaired: the same command now succeeds
    open_shard(embedded_store, sealed.manifest_cid, 1, keystore.key(sealed.manifest_cid, 1), out)
    assert out.stat().st_size == sealed.manifest.shards[1].plaintext_bytes


def test_tampered_ciphertext_is_refused(tmp_path: Path, embedded_store: EmbeddedStore,
                                        keystore: KeyStore, sealed: SealResult) -> None:
    obj = embedded_store.path_of(sealed.manifest.shards[0].cid)
    blob = bytearray(obj.read_bytes())
    blob[1234] ^= 0x01
    obj.write_bytes(bytes(blob))
    refuse_open(embedded_store, sealed.manifest_cid, 0, keystore.key(sealed.manifest_cid, 0),
                tmp_path / "shard0", IntegrityError, "does not match its CID")


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "drop the tag"])
def test_a_manifest_pointing_at_altered_ciphertext_fails_gcm_authentication(
        damage: str, tmp_path: Path, embedded_store: EmbeddedStore, keystore: KeyStore,
        sealed: SealResult) -> None:
    """The CID check passes (the manifest names the altered bytes); the GCM tag does not."""
    blob = bytearray(b"".join(embedded_store.cat(sealed.manifest.shards[2].cid)))
    if damage == "flip a byte":
        blob[10] ^= 0x80
    altered = bytes(blob[:-1000] if damage == "truncate" else blob[:12] if damage == "drop the tag"
                    else blob)
    doc = json.loads(sealed.manifest.to_bytes())
    doc["shards"][2]["cid"] = add_bytes(embedded_store, altered)
    forged = add_bytes(embedded_store, json.dumps(doc).encode())
    refuse_open(embedded_store, forged, 2, keystore.key(sealed.manifest_cid, 2), tmp_path / "s2",
                IntegrityError, "truncated|AES-GCM authentication")


def test_wrong_key_is_refused_before_anything_is_written(
        tmp_path: Path, embedded_store: EmbeddedStore, keystore: KeyStore,
        sealed: SealResult) -> None:
    other = keystore.key(sealed.manifest_cid, 0)  # a real key, but of another shard
    refuse_open(embedded_store, sealed.manifest_cid, 1, other, tmp_path / "s1", WrongKeyError,
                "not the key of shard 1")
    refuse_open(embedded_store, sealed.manifest_cid, 1, new_key(), tmp_path / "s1", WrongKeyError,
                "does not match the commitment")


def test_manifest_not_matching_its_cid_is_refused(embedded_store: EmbeddedStore,
                                                  sealed: SealResult) -> None:
    obj = embedded_store.path_of(sealed.manifest_cid)
    doc = json.loads(obj.read_bytes())
    doc["shards"][0]["key_commitment"] = key_commitment(new_key())
    obj.write_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
    expected = f"manifest {sealed.manifest_cid} does not match its CID"
    with pytest.raises(IntegrityError, match=expected):
        load_manifest(embedded_store, sealed.manifest_cid)


def test_content_that_is_not_a_manifest_is_refused(embedded_store: EmbeddedStore) -> None:
    for body in (b"not json", b'{"format": "something else"}', b"[1, 2]"):
        with pytest.raises(ManifestError, match="not a valid dataset manifest"):
            load_manifest(embedded_store, add_bytes(embedded_store, body))
    with pytest.raises(ContentNotFound, match="not in the embedded store"):
        load_manifest(embedded_store, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    with pytest.raises(ManifestError, match="not a CIDv1"):
        load_manifest(embedded_store, "not-a-cid")


def test_manifest_with_a_wrong_merkle_root_is_refused(embedded_store: EmbeddedStore,
                                                      sealed: SealResult) -> None:
    doc = json.loads(sealed.manifest.to_bytes())
    doc["merkle_root"] = "0x" + "00" * 32
    with pytest.raises(ManifestError, match="Merkle root does not match"):
        load_manifest(embedded_store, add_bytes(embedded_store, json.dumps(doc).encode()))


def _make_input(case: str, d: Path) -> Path:
    """Build the bad input named ``case`` in ``d`` and return its path."""
    files: dict[str, tuple[str, bytes]] = {
        "empty file": ("empty.bin", b""), "header only": ("header.csv", b"a,b\n"),
        "not jsonl": ("bad.jsonl", b"{oops\n"), "not parquet": ("bad.parquet", b"PAR1 nope"),
        "K > bytes": ("small.bin", b"abc"), "K > csv rows": ("rows.csv", b"a\n1\n2\n"),
        "K > jsonl rows": ("rows.jsonl", b'{"a":1}\n{"a":2}'), "K = 0": ("some.bin", b"abc"),
    }
    if case in files:
        name, body = files[case]
        (d / name).write_bytes(body)
        return d / name
    if case == "dangling link":
        (d / "dangling.bin").symlink_to(d / "nowhere")
        return d / "dangling.bin"
    if case == "K > parquet rows":
        pq.write_table(pa.table({"x": [1, 2]}), d / "rows.parquet")
        return d / "rows.parquet"
    if case in ("empty folder", "K > files"):
        (d / "folder").mkdir()
        if case == "K > files":
            (d / "folder" / "only").write_bytes(b"x")
        return d / "folder"
    return d / "missing.csv"


@pytest.mark.parametrize(("case", "k", "match"), [
    ("missing", 2, "does not exist"),
    ("dangling link", 2, "does not exist"),
    ("empty file", 1, "is empty"),
    ("empty folder", 1, "holds no files"),
    ("header only", 1, "no data rows"),
    ("not jsonl", 1, "not JSON Lines"),
    ("not parquet", 1, "not a readable Parquet"),
    ("K > bytes", 4, "K=4 is larger than the data: .* only 3 bytes"),
    ("K > csv rows", 3, "K=3 is larger than the data: .* only 2 rows"),
    ("K > jsonl rows", 3, "only 2 rows"),
    ("K > parquet rows", 3, "only 2 rows"),
    ("K > files", 2, "only 1 files"),
    ("K = 0", 0, "at least 1"),
])
def test_unusable_input_is_refused_and_nothing_is_stored(case: str, k: int, match: str,
                                                          tmp_path: Path,
                                                          embedded_store: EmbeddedStore,
                                                          keystore: KeyStore) -> None:
    src = _make_input(case, tmp_path)
    with pytest.raises(DatasetInputError, match=match):
        seal_dataset(src, k, embedded_store, keystore)
    assert not list((embedded_store.root / "objects").iterdir())
    assert not keystore.root.exists()
    assert not leftovers(embedded_store.root)


def test_key_file_readable_by_others_is_refused(embedded_store: EmbeddedStore, keystore: KeyStore,
                                                sealed: SealResult) -> None:
    sealed.key_file.chmod(0o644)
    with pytest.raises(KeyStoreError, match="can be read by other users"):
        keystore.load(sealed.manifest_cid)
    sealed.key_file.chmod(0o600)
    assert len(keystore.load(sealed.manifest_cid)) == 3
    assert stat.S_IMODE(sealed.key_file.stat().st_mode) == 0o600


def test_ipfs_node_down_is_refused_and_a_retry_succeeds(tmp_path: Path, ipfs_node: LocalIpfsNode,
                                                        keystore: KeyStore) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(300_000))
    down = IpfsStore(f"http://127.0.0.1:{free_port()}", timeout_s=5, spool_dir=tmp_path / "spool")
    with pytest.raises(StoreUnavailable, match="cannot reach an IPFS node"):
        seal_dataset(src, 2, down, keystore)
    assert not keystore.root.exists() and not leftovers(tmp_path / "spool")
    up = IpfsStore(ipfs_node.api_url, timeout_s=30, spool_dir=tmp_path / "spool")
    result = seal_dataset(src, 2, up, keystore)
    open_shard(up, result.manifest_cid, 1, keystore.key(result.manifest_cid, 1), tmp_path / "s1")
    assert (tmp_path / "s1").read_bytes() == src.read_bytes()[150_000:]


def test_ipfs_node_too_slow_is_refused_and_a_retry_succeeds(tmp_path: Path,
                                                            ipfs_node: LocalIpfsNode,
                                                            keystore: KeyStore) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(300_000))
    store = IpfsStore(ipfs_node.api_url, timeout_s=1.5, spool_dir=tmp_path / "spool")
    ipfs_node.pause()  # the real node stops answering but keeps its port open
    try:
        with pytest.raises(StoreUnavailable, match=r"did not answer within 1\.5 s"):
            seal_dataset(src, 2, store, keystore)
    finally:
        ipfs_node.resume()
    assert not keystore.root.exists() and not leftovers(tmp_path / "spool")
    result = seal_dataset(src, 2, IpfsStore(ipfs_node.api_url, timeout_s=30,
                                            spool_dir=tmp_path / "spool"), keystore)
    assert keystore.has(result.manifest_cid)


def test_content_missing_from_the_node_is_reported_not_waited_for(ipfs_store: IpfsStore) -> None:
    absent = add_bytes(EmbeddedStore(ipfs_store.spool_dir / "other"), os.urandom(64))
    with pytest.raises(ContentNotFound, match="not on the IPFS node"):
        load_manifest(ipfs_store, absent)
