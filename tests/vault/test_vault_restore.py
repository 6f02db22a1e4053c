"""Restoring a sealed dataset's plaintext for its owner: CSV and JSONL byte for byte (one
header), Parquet as a folder of parts, folders as folders, raw bytes refused."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.vault.errors import DatasetInputError, WrongKeyError
from backend.vault.manifest import load_manifest
from backend.vault.restore import restore_dataset
from backend.vault.seal import seal_dataset

CSV = 'id,"note, with ""quotes"""\n' + "".join(f'{i},"line {i}\nsecond line"\n' for i in range(50))


def sealed(path, k, store, keystore, **kw):
    result = seal_dataset(path, k, store, keystore, **kw)
    return load_manifest(store, result.manifest_cid), keystore.load(result.manifest_cid)


@pytest.mark.parametrize(("name", "text", "k"), [
    ("d.csv", CSV, 4),
    ("d.jsonl", "".join(f'{{"i": {i}}}\n' for i in range(30)), 3),
])
def test_text_datasets_come_back_byte_for_byte(tmp_path, embedded_store, keystore, name, text, k):
    src = tmp_path / name
    src.write_text(text)
    manifest, keys = sealed(src, k, embedded_store, keystore)
    out = tmp_path / "out"
    out.mkdir()
    restored = restore_dataset(embedded_store, manifest, keys, out, "copy", mtime=1_700_000_000)
    assert restored.read_bytes() == src.read_bytes()
    assert os.stat(restored).st_mtime == 1_700_000_000


def test_parquet_comes_back_as_parts_with_every_row(tmp_path, embedded_store, keystore):
    src = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": list(range(40))}), src, row_group_size=10)
    manifest, keys = sealed(src, 4, embedded_store, keystore)
    out = tmp_path / "out"
    out.mkdir()
    restored = restore_dataset(embedded_store, manifest, keys, out, ".shard-0")  # a name never clashes
    parts = sorted(p.name for p in restored.iterdir())
    assert parts == [f"part-{i:05d}.parquet" for i in range(4)]
    assert sorted(x for p in sorted(restored.iterdir()) for x in pq.read_table(p)["x"].to_pylist()) \
        == list(range(40))
    assert sorted(p.name for p in out.iterdir()) == [".shard-0"]  # no leftover parts


def test_folder_comes_back_as_the_folder(tmp_path, embedded_store, keystore):
    src = tmp_path / "f"
    (src / "sub").mkdir(parents=True)
    files = {"a.csv": "x\n1\n", "sub/b.csv": "x\n2\n", "c.txt": "hello"}
    for rel, text in files.items():
        (src / rel).write_text(text)
    manifest, keys = sealed(src, 2, embedded_store, keystore)
    out = tmp_path / "out"
    out.mkdir()
    restored = restore_dataset(embedded_store, manifest, keys, out, "f")
    assert {p.relative_to(restored).as_posix(): p.read_text()
            for p in restored.rglob("*") if p.is_file()} == files


def test_raw_bytes_and_wrong_keys_are_refused(tmp_path, embedded_store, keystore):
    src = tmp_path / "d.bin"
    src.write_bytes(os.urandom(1000))
    manifest, keys = sealed(src, 2, embedded_store, keystore)
    with pytest.raises(DatasetInputError, match="raw bytes"):
        restore_dataset(embedded_store, manifest, keys, tmp_path, "x")
    csv = tmp_path / "d.csv"
    csv.write_text(CSV)
    manifest, keys = sealed(csv, 2, embedded_store, keystore)
    with pytest.raises(WrongKeyError):
        restore_dataset(embedded_store, manifest, [keys[0], os.urandom(32)], tmp_path, "y")
