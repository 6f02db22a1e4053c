"""The dimensional profile of a folder of data files (CSV, TSV, JSONL or Parquet).

Every file whose extension names a known format is read once; each chunk feeds both
the file's own profile and the folder's combined one, so duplicates are found across
files and completeness counts a column a file lacks as null cells (as a JSON Lines
record that lacks a key). All data files must be of one format; other files (a
README, a licence) are listed as skipped.

Schema consistency across files: the reference columns are those of the files that
hold the most rows; every cell of a reference column that a file lacks counts as an
inconsistent cell, on top of the values whose type is not their column's dominant
type over the whole folder. Files whose columns differ from the reference, and columns
whose type differs between files, are listed in ``schema_check``.

The folder's identity (``sha256``) is the SHA-256 of its listing in ``sha256sum``
form (``<file sha256>  <relative path>\\n`` per data file, sorted by path), so the
same files give the same report wherever the folder lives.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.valuation.errors import DatasetReadError
from backend.valuation.inputs import DimensionalInputs
from backend.valuation.profile import (
    Accumulator,
    DatasetProfile,
    build_profile,
    file_sha256,
    wanted_columns,
)
from backend.valuation.readers import FORMATS, check_file, detect_format, read_chunks

MAX_FILES = 10_000


def _data_files(root: Path, fmt: str | None) -> tuple[list[tuple[Path, str]], list[str]]:
    """(data files with their format, skipped relative paths), sorted by path."""
    try:
        paths = sorted(p for p in root.rglob("*") if p.is_file())
    except OSError as exc:
        raise DatasetReadError(f"cannot list {root}: {exc.strerror or exc}") from None
    files, skipped = [], []
    for p in paths:
        if p.suffix.lower() in FORMATS or fmt is not None:
            files.append((p, detect_format(p, fmt)))
        else:
            skipped.append(p.relative_to(root).as_posix())
    if not files:
        raise DatasetReadError(f"folder {root.name} holds no data files (known extensions: "
                               f"{sorted(FORMATS)})")
    if len(files) > MAX_FILES:
        raise DatasetReadError(f"folder {root.name} holds {len(files)} data files; at most "
                               f"{MAX_FILES} are appraised at once")
    formats = sorted({f for _, f in files})
    if len(formats) > 1:
        raise DatasetReadError(f"folder {root.name} mixes formats {formats}; appraise one "
                               "format at a time (one folder per format)")
    return files, skipped


def profile_folder(root: Path, *, inputs: DimensionalInputs, as_of: datetime,
                   fmt: str | None = None) -> DatasetProfile:
    files, skipped = _data_files(root, fmt)
    fmt = files[0][1]
    wanted = wanted_columns(inputs)
    combined = Accumulator(inputs)
    per_file: list[tuple[str, DatasetProfile, list[str]]] = []
    listing = []
    for path, _ in files:
        rel = path.relative_to(root).as_posix()
        size = check_file(path)
        acc = Accumulator(inputs)
        for chunk in read_chunks(path, fmt, wanted):
            acc.add(chunk)
            combined.add(chunk)
        sha = file_sha256(path)
        listing.append(f"{sha}  {rel}\n")
        # A file's own profile needs no label/timestamp column: the folder's may lie elsewhere.
        own = DimensionalInputs(**{**inputs.model_dump(), "label_column": _if_in(inputs.label_column, acc),
                                   "timestamp_column": _if_in(inputs.timestamp_column, acc)})
        acc.inputs = own
        profile = build_profile(acc, name=rel, fmt=fmt, size=size, sha256=sha,
                                mtime=path.stat().st_mtime, inputs=own, as_of=as_of)
        per_file.append((rel, profile, list(acc.order)))
    schema_check, missing_cells = _schema_check(per_file)
    return build_profile(
        combined, name=root.name, fmt=fmt, size=sum(p.bytes for _, p, _ in per_file),
        sha256=hashlib.sha256("".join(listing).encode()).hexdigest(),
        mtime=max(path.stat().st_mtime for path, _ in files), inputs=inputs, as_of=as_of,
        inconsistent_cells=missing_cells,
        files=[_file_json(p) for _, p, _ in per_file] + [{"name": s, "skipped": True} for s in skipped],
        schema_check=schema_check)


def _if_in(column: str | None, acc: Accumulator) -> str | None:
    return column if column is not None and column in acc.tags else None


def _file_json(p: DatasetProfile) -> dict[str, Any]:
    keys = ("name", "bytes", "sha256", "rows", "columns", "completeness", "uniqueness",
            "duplicate_rows", "malformed_rows", "schema_consistency", "column_types")
    return {k: getattr(p, k) for k in keys}


def _schema_check(per_file: list[tuple[str, DatasetProfile, list[str]]]) -> tuple[dict[str, Any], int]:
    """The reference columns, the files that differ from them, columns typed differently
    in different files, and the count of reference cells missing from files."""
    rows_by_columns: Counter[tuple[str, ...]] = Counter()
    for _, p, columns in per_file:
        rows_by_columns[tuple(sorted(columns))] += p.rows
    reference = max(sorted(rows_by_columns), key=lambda cols: rows_by_columns[cols])
    mismatched, missing_cells = [], 0
    for name, p, columns in per_file:
        missing = sorted(set(reference) - set(columns))
        extra = sorted(set(columns) - set(reference))
        if missing or extra:
            mismatched.append({"file": name, "missing": missing, "extra": extra})
            missing_cells += p.rows * len(missing)
    types: dict[str, dict[str, str]] = {}
    for name, p, _ in per_file:
        for column, kind in p.column_types.items():
            if kind != "empty":
                types.setdefault(column, {})[name] = kind
    conflicts = {c: by_file for c, by_file in types.items() if len(set(by_file.values())) > 1}
    return ({"reference_columns": list(reference), "files": len(per_file),
             "files_matching": len(per_file) - len(mismatched), "mismatched_files": mismatched,
             "type_conflicts": conflicts, "missing_reference_cells": missing_cells}, missing_cells)
