"""Sealing and opening datasets of every kind, through both stores."""

from __future__ import annotations

import csv
import json
import os
import stat
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from eth_utils import keccak

from backend.vault.content_store import ContentStore
from backend.vault.embedded_store import EmbeddedStore
from backend.vault.ipfs_store import IpfsStore
from backend.vault.keystore import KeyStore
from backend.vault.manifest import Licence, load_manifest
from backend.vault.merkle import merkle_proof, merkle_root, verify_proof
from backend.vault.seal import seal_dataset
from backend.vault.unseal import open_shard, verify_dataset
from tests.vault.conftest import leftovers


def open_all(store: ContentStore, keystore: KeyStore, cid: str, k: int, out: Path) -> list[Path]:
    paths = []
    for i in range(k):
        paths.append(out / f"shard-{i}")
        open_shard(store, cid, i, keystore.key(cid, i), paths[-1])
    return paths


def write_csv(path: Path, rows: int) -> list[list[str]]:
    data = [["id", "text", "label"]] + [
        [str(i), f'line one\nline "two" of {i}' if i % 5 == 0 else f"plain {i}", str(i % 3)]
        for i in range(rows)]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(data)
    return data


def test_csv_shards_are_row_aligned_with_the_header_in_each(tmp_path: Path,
                                                           embedded_store: EmbeddedStore,
                                                           keystore: KeyStore) -> None:
    src = tmp_path / "people.csv"
    data = write_csv(src, 400)
    result = seal_dataset(src, 4, embedded_store, keystore)
    manifest = result.manifest
    assert manifest.kind == "csv" and manifest.schema_["columns"] == ["id", "text", "label"]
    rows: list[list[str]] = []
    for i, path in enumerate(open_all(embedded_store, keystore, result.manifest_cid, 4, tmp_path)):
        shard_rows = list(csv.reader(path.open(newline="")))
        assert shard_rows[0] == data[0]  # quoted newlines did not split a row
        assert len(shard_rows) - 1 == manifest.shards[i].rows > 0
        rows += shard_rows[1:]
    assert rows == data[1:]


def test_jsonl_shards_split_on_lines(tmp_path: Path, embedded_store: EmbeddedStore,
                                     keystore: KeyStore) -> None:
    src = tmp_path / "events.jsonl"
    records = [{"i": i, "s": "x" * (i % 17)} for i in range(101)]
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = seal_dataset(src, 3, embedded_store, keystore)
    assert sum(s.rows or 0 for s in result.manifest.shards) == 101
    paths = open_all(embedded_store, keystore, result.manifest_cid, 3, tmp_path)
    assert b"".join(p.read_bytes() for p in paths) == src.read_bytes()
    assert result.manifest.schema_["fields_of_first_record"] == ["i", "s"]


@pytest.mark.parametrize("groups", [10, 2], ids=["on row groups", "on rows"])
def test_parquet_shards_are_parquet_files(groups: int, tmp_path: Path,
                                          embedded_store: EmbeddedStore,
                                          keystore: KeyStore) -> None:
    src = tmp_path / "table.parquet"
    table = pa.table({"x": list(range(1000)), "y": [f"v{i}" for i in range(1000)]})
    pq.write_table(table, src, row_group_size=1000 // groups)
    result = seal_dataset(src, 3, embedded_store, keystore)
    assert result.manifest.schema_["split"] == ("row groups" if groups == 10 else "rows")
    opened = open_all(embedded_store, keystore, result.manifest_cid, 3, tmp_path)
    parts = [pq.read_table(p) for p in opened]
    assert [p.num_rows for p in parts] == [s.rows for s in result.manifest.shards]
    assert pa.concat_tables(parts).equals(table)


def test_folder_shards_are_tar_archives_of_whole_files(tmp_path: Path,
                                                       embedded_store: EmbeddedStore,
                                                       keystore: KeyStore) -> None:
    folder = tmp_path / "images"
    files = {f"{d}/img{i}.bin": os.urandom(1000 + 97 * i) for i, d in enumerate("aabbcc")}
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    result = seal_dataset(folder, 3, embedded_store, keystore)
    got = {}
    for path in open_all(embedded_store, keystore, result.manifest_cid, 3, tmp_path):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                got[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    assert got == files
    assert all(s.rows for s in result.manifest.shards)


def test_opaque_bytes_round_trip_through_the_ipfs_node(tmp_path: Path, ipfs_store: IpfsStore,
                                                       keystore: KeyStore) -> None:
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(700_000))
    licence = Licence(id="CC-BY-4.0", terms="cite us")
    result = seal_dataset(src, 3, ipfs_store, keystore, licence=licence)
    paths = open_all(ipfs_store, keystore, result.manifest_cid, 3, tmp_path)
    assert b"".join(p.read_bytes() for p in paths) == src.read_bytes()
    keys = keystore.load(result.manifest_cid)
    manifest, checks = verify_dataset(ipfs_store, result.manifest_cid, keys)
    assert all(c.ok for c in checks) and manifest.licence.terms == "cite us"
    assert not leftovers(tmp_path / "spool")


def test_keys_live_only_in_a_0600_key_file(tmp_path: Path, embedded_store: EmbeddedStore,
                                           keystore: KeyStore) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(10_000))
    result = seal_dataset(src, 4, embedded_store, keystore)
    keys = keystore.load(result.manifest_cid)
    assert stat.S_IMODE(result.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keystore.root.stat().st_mode) == 0o700
    assert result.commitments == ["0x" + keccak(k).hex() for k in keys]
    assert len(set(keys)) == 4 and len({s.nonce for s in result.manifest.shards}) == 4
    for obj in (embedded_store.root / "objects").iterdir():
        blob = obj.read_bytes()
        for key in keys:
            assert key not in blob and key.hex().encode() not in blob


def test_manifest_commits_to_shards_with_a_verifiable_merkle_root(tmp_path: Path,
                                                                  embedded_store: EmbeddedStore,
                                                                  keystore: KeyStore) -> None:
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(5_000))
    result = seal_dataset(src, 5, embedded_store, keystore)
    manifest = load_manifest(embedded_store, result.manifest_cid)
    digests = [bytes.fromhex(s.plaintext_sha256) for s in manifest.shards]
    root = merkle_root(digests)
    assert manifest.merkle_root == "0x" + root.hex()
    for i, d in enumerate(digests):
        assert verify_proof(root, i, d, merkle_proof(digests, i))
    assert not verify_proof(root, 0, digests[1], merkle_proof(digests, 0))


def test_sealing_the_same_file_twice_gives_fresh_keys_and_ciphertexts(
        tmp_path: Path, embedded_store: EmbeddedStore, keystore: KeyStore) -> None:
    src = tmp_path / "data.csv"
    write_csv(src, 20)
    a = seal_dataset(src, 2, embedded_store, keystore)
    b = seal_dataset(src, 2, embedded_store, keystore)
    assert a.manifest_cid != b.manifest_cid and set(a.commitments).isdisjoint(b.commitments)
    hashes = [[s.plaintext_sha256 for s in r.manifest.shards] for r in (a, b)]
    assert hashes[0] == hashes[1]
