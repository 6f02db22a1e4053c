"""``gpubarter dataset seal|open|show|verify``: the dataset vault from the command line.

Content goes to the IPFS node given by ``--ipfs-api`` (or ``GPUBARTER_IPFS_API``), else
to the embedded store under the state dir. Keys go only to the owner's key store;
this module never prints one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from backend.vault.config import open_keystore, open_store, spool_dir
from backend.vault.errors import IntegrityError
from backend.vault.keystore import parse_key
from backend.vault.manifest import Licence, load_manifest
from backend.vault.seal import seal_plan
from backend.vault.shard_plan import plan_shards
from backend.vault.sharding import KINDS
from backend.vault.unseal import check_key, open_shard, verify_dataset
from cli.commands.dataset import dataset_app
from cli.commands.output import console, err
from gpubarter.errors import ConfigError

IpfsApiOpt = typer.Option(None, "--ipfs-api", help="IPFS node RPC API (Kubo), e.g. "
                          "http://127.0.0.1:5001. Default: GPUBARTER_IPFS_API, else the "
                          "embedded store in the state dir.")
OutOpt = typer.Option(..., "--out", "-o", help="Where to write the plaintext.")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")


@contextlib.contextmanager
def _progress(what: str, total: int) -> Iterator[Callable[[int], None]]:
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)


def _table(*columns: str) -> Table:
    table = Table()
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


@dataset_app.command()
def seal(
    path: Annotated[Path, typer.Argument(help="A file (CSV, Parquet, JSONL, bytes) or a folder.")],
    k: int = typer.Option(..., "--k", "-k", help="Shards = release steps."),
    kind: str | None = typer.Option(None, help=f"One of {', '.join(KINDS)}; default: by name."),
    name: str | None = typer.Option(None, help="Dataset name (default: the file name)."),
    licence: str = typer.Option("proprietary", help="Licence id (SPDX) recorded in the manifest."),
    terms: str = typer.Option("", help="Licence terms recorded in the manifest."),
    ipfs_api: str | None = IpfsApiOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Split a dataset into K encrypted shards, store them and their manifest."""
    store, keystore = open_store(ipfs_api), open_keystore()
    plan = plan_shards(path, k, kind=kind, spool_dir=spool_dir())
    with _progress(f"sealing {path.name} into {k} shards", plan.total_hint) as advance:
        result = seal_plan(plan, store, keystore, name=name or path.name,
                           licence=Licence(id=licence, terms=terms), progress=advance)
    if as_json:
        console.print_json(json.dumps({"manifest_cid": result.manifest_cid,
                                       "key_commitments": result.commitments,
                                       "merkle_root": result.manifest.merkle_root,
                                       "key_file": str(result.key_file), "store": store.location}))
        return
    console.print(f"sealed {path} ({result.manifest.kind}) into {k} shards in {store.location}")
    console.print(f"manifest CID: {result.manifest_cid}")
    console.print(f"Merkle root:  {result.manifest.merkle_root}")
    console.print(f"keys:         {result.key_file} (mode 600; never share this file)")
    table = _table("step", "shard CID", "plaintext bytes", "keccak256(key)")
    for e in result.manifest.shards:
        table.add_row(str(e.index), e.cid, f"{e.plaintext_bytes:,}", e.key_commitment)
    console.print(table)


@dataset_app.command("open")
def open_cmd(
    manifest_cid: str = typer.Argument(..., help="The dataset's manifest CID."),
    shard: int = typer.Option(..., "--shard", "-s", help="Shard index (release step, from 0)."),
    out: Path = OutOpt,
    key_file: Annotated[Path | None, typer.Option(help="A file holding the shard key as hex "
                                                  "(default: the owner's key store).")] = None,
    ipfs_api: str | None = IpfsApiOpt,
) -> None:
    """Fetch one shard, check its CID, GCM tag and plaintext hash, and decrypt it."""
    store = open_store(ipfs_api)
    if key_file is not None:
        try:
            key = parse_key(key_file.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {key_file}: {exc.strerror}") from None
    else:
        key = open_keystore().key(manifest_cid, shard)
    manifest = load_manifest(store, manifest_cid)
    entry = check_key(manifest, shard, key)
    with _progress(f"opening shard {shard}", entry.ciphertext_bytes) as advance:
        open_shard(store, manifest_cid, shard, key, out, progress=advance)
    console.print(f"shard {shard} of {manifest.name}: {entry.plaintext_bytes:,} bytes -> {out} "
                  "(CID, GCM tag and SHA-256 checked)")


@dataset_app.command()
def show(manifest_cid: str = typer.Argument(..., help="The dataset's manifest CID."),
         ipfs_api: str | None = IpfsApiOpt, as_json: bool = JsonOpt) -> None:
    """Show a dataset's manifest (checked against its CID)."""
    manifest = load_manifest(open_store(ipfs_api), manifest_cid)
    if as_json:
        console.print_json(manifest.to_bytes().decode())
        return
    console.print(f"{manifest.name}: {manifest.kind}, {manifest.source_bytes:,} bytes, "
                  f"{manifest.k} shards, licence {manifest.licence.id}")
    console.print(f"Merkle root: {manifest.merkle_root}")
    schema = {k: v for k, v in manifest.schema_.items() if k != "files"}
    console.print(f"schema: {json.dumps(schema)}")
    table = _table("step", "shard CID", "rows", "plaintext bytes", "plaintext SHA-256")
    for e in manifest.shards:
        table.add_row(str(e.index), e.cid, "" if e.rows is None else f"{e.rows:,}",
                      f"{e.plaintext_bytes:,}", e.plaintext_sha256)
    console.print(table)


@dataset_app.command()
def verify(manifest_cid: str = typer.Argument(..., help="The dataset's manifest CID."),
           keys: bool = typer.Option(True, "--keys/--no-keys", help="Also decrypt with the key "
                                     "store's keys (tags and plaintext hashes)."),
           ipfs_api: str | None = IpfsApiOpt) -> None:
    """Check the manifest and every shard; with keys, also every tag and plaintext hash."""
    store = open_store(ipfs_api)
    manifest = load_manifest(store, manifest_cid)
    key_list = open_keystore().load(manifest_cid) if keys else None
    total = sum(e.ciphertext_bytes for e in manifest.shards)
    with _progress(f"verifying {manifest.k} shards", total) as advance:
        _, checks = verify_dataset(store, manifest_cid, key_list, progress=advance)
    table = _table("step", "shard CID", "checked", "result")
    for c in checks:
        table.add_row(str(c.index), c.cid, c.checked, "ok" if c.ok else c.problem)
    console.print(table)
    bad = [c.index for c in checks if not c.ok]
    if bad:
        raise IntegrityError(f"{len(bad)} of {manifest.k} shards failed verification: {bad}")
    console.print(f"{manifest_cid}: manifest, Merkle root and {manifest.k} shards verified")
