"""Choosing how a dataset is cut into K shards: by its kind (a folder, CSV or JSONL by rows,
Parquet by row groups, anything else by bytes; :mod:`backend.vault.sharding` holds the plan's parts,
the ``split_*`` modules each kind's cutting)."""

from __future__ import annotations

import os
from pathlib import Path

from backend.vault.errors import DatasetInputError
from backend.vault.sharding import KINDS, ShardPlan, detect_kind, plan_bytes
from backend.vault.split_folder import plan_folder
from backend.vault.split_parquet import plan_parquet
from backend.vault.split_text import plan_text


def plan_shards(path: Path, k: int, *, kind: str | None = None,
                spool_dir: Path | None = None) -> ShardPlan:
    path = Path(path)
    if not os.path.lexists(path):
        raise DatasetInputError(f"{path} does not exist")
    kind = kind or detect_kind(path)
    if kind not in KINDS:
        raise DatasetInputError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "folder" or path.is_dir():
        if not path.is_dir():
            raise DatasetInputError(f"{path} is not a folder")
        return plan_folder(path, k)
    if kind in ("csv", "jsonl"):
        return plan_text(path, k, kind)
    if kind == "parquet":
        return plan_parquet(path, k, spool_dir=spool_dir)
    return plan_bytes(path, k)
