"""Stream a dataset file as chunks of rows, with memory bounded by the chunk size.

CSV (and TSV) is read with pyarrow's streaming CSV reader, every column as text, and
each value is tagged with the type it looks like (integer, float, boolean,
timestamp, string). JSON Lines is parsed line by line and tagged with JSON's types.
Parquet is read batch by batch; its types are enforced by the format. Each chunk
carries per-column non-null counts and type tags, one 64-bit hash per row (for
duplicate detection, vectorised in :mod:`rowhash`), and the columns the profiler asks
for (Arrow arrays for CSV and Parquet, Python lists for JSON Lines).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from backend.valuation.errors import DatasetReadError
from backend.valuation.rowhash import row_hashes

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}
BATCH_ROWS = 65_536
CSV_BLOCK_BYTES = 1 << 20  # the reader reads ~40 blocks ahead: ~40 MiB peak
NULL_TEXT = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "none"]
INTEGER = r"^[+-]?\d+$"
NUMBER = r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
MAYBE_TYPED = r"^[-+.0-9tTfF]"  # what an integer, float, boolean or timestamp starts with
TEXT_TAGS = (  # patterns are exclusive (integers tested first); anything else is a string
    ("integer", INTEGER),
    ("float", r"^[+-]?((\d+\.\d*|\.\d+)([eE][+-]?\d+)?|\d+[eE][+-]?\d+)$"),
    ("boolean", r"^(true|false|True|False|TRUE|FALSE)$"),
    ("timestamp", TIMESTAMP),
)


@dataclass
class Chunk:
    rows: int
    non_null: dict[str, int]
    tags: dict[str, Counter[str]]
    row_hashes: np.ndarray
    values: dict[str, pa.Array | list[Any]] = field(default_factory=dict)
    malformed: int = 0


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt is not None:
        if fmt not in set(FORMATS.values()):
            raise DatasetReadError(f"unknown format {fmt!r}; use one of "
                                   f"{sorted(set(FORMATS.values()))}")
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise DatasetReadError(f"cannot tell the format of {path.name} from its extension "
                               f"{path.suffix or '(none)'}; known: {sorted(FORMATS)} "
                               "(or pass the format explicitly)")
    return found


def check_file(path: Path) -> int:
    """The file's size; refuses a missing, non-regular or empty file."""
    if not path.exists():
        raise DatasetReadError(f"dataset {path} does not exist")
    if not path.is_file():
        raise DatasetReadError(f"dataset {path} is not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise DatasetReadError(f"dataset {path} is empty")
    return size


def read_chunks(path: Path, fmt: str, wanted: set[str]) -> Iterator[Chunk]:
    """Chunks of ``path``; ``wanted`` columns also come back as Python values."""
    readers = {"csv": _csv, "tsv": _csv, "jsonl": _jsonl, "parquet": _parquet}
    try:
        yield from readers[fmt](path, wanted, delimiter="\t" if fmt == "tsv" else ",")
    except pa.ArrowInvalid as exc:
        raise DatasetReadError(f"{path.name} is not readable as {fmt}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DatasetReadError(f"{path.name} is not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise DatasetReadError(f"cannot read {path}: {exc.strerror or exc}") from None


# --- CSV --------------------------------------------------------------------------------

def _csv_header(path: Path, delimiter: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f, delimiter=delimiter), None)
    if not header or not any(h.strip() for h in header):
        raise DatasetReadError(f"{path.name} has no header row")
    duplicates = sorted(name for name, n in Counter(header).items() if n > 1)
    if duplicates:
        raise DatasetReadError(f"{path.name} repeats column names {duplicates}")
    return header


def _text_tags(array: pa.Array, order: list[tuple[str, str]]) -> Counter[str]:
    """Counts of what the non-null values of a text column look like. ``order``: the
    patterns to try, most frequent first (adapted batch by batch, so a clean column
    costs one pass); values that cannot start a typed value are strings right away."""
    tags: Counter[str] = Counter()
    remaining = array.drop_null()
    if len(remaining):
        maybe_typed = pc.match_substring_regex(remaining, MAYBE_TYPED)
        tags["string"] = len(remaining) - (pc.sum(maybe_typed).as_py() or 0)
        remaining = remaining.filter(maybe_typed)
    for tag, pattern in order:
        if len(remaining) == 0:
            break
        hit = pc.match_substring_regex(remaining, pattern)
        tags[tag] = pc.sum(hit).as_py() or 0
        remaining = remaining.filter(pc.invert(hit))
    tags["string"] += len(remaining)
    return +tags


def _adapt(order: list[tuple[str, str]], tags: Counter[str]) -> list[tuple[str, str]]:
    return sorted(order, key=lambda item: -tags[item[0]])


def _csv(path: Path, wanted: set[str], *, delimiter: str) -> Iterator[Chunk]:
    from pyarrow import csv as pacsv

    header = _csv_header(path, delimiter)
    malformed = 0

    def skip(_row: Any) -> str:
        nonlocal malformed
        malformed += 1
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=skip),
        convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                             null_values=NULL_TEXT, strings_can_be_null=True,
                                             quoted_strings_can_be_null=True))
    orders = {h: list(TEXT_TAGS) for h in header}
    for batch in reader:
        seen, malformed = malformed, 0
        cols = [batch.column(i) for i in range(batch.num_columns)]
        tags = {h: _text_tags(c, orders[h]) for h, c in zip(header, cols, strict=True)}
        orders = {h: _adapt(orders[h], tags[h]) for h in header}
        yield Chunk(rows=batch.num_rows,
                    non_null={h: len(c) - c.null_count for h, c in zip(header, cols, strict=True)},
                    tags=tags,
                    row_hashes=row_hashes(cols),
                    values={h: c for h, c in zip(header, cols, strict=True) if h in wanted},
                    malformed=seen)
    if malformed:  # rows skipped after the last batch
        yield Chunk(rows=0, non_null={}, tags={}, row_hashes=np.empty(0, np.int64),
                    malformed=malformed)


# --- JSON Lines -------------------------------------------------------------------------

def _json_tag(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _jsonl(path: Path, wanted: set[str], *, delimiter: str) -> Iterator[Chunk]:
    del delimiter
    with path.open(encoding="utf-8") as f:
        while True:
            lines = [line for _, line in zip(range(BATCH_ROWS), f, strict=False)]
            if not lines:
                return
            yield _jsonl_chunk(lines, wanted)


def _jsonl_chunk(lines: list[str], wanted: set[str]) -> Chunk:
    non_null: Counter[str] = Counter()
    tags: dict[str, Counter[str]] = {}
    hashes: list[int] = []
    values: dict[str, list[Any]] = {name: [] for name in wanted}
    malformed = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            malformed += 1
            continue
        if not isinstance(record, dict):
            malformed += 1
            continue
        present = {k: v for k, v in record.items() if v is not None}
        for key, value in present.items():
            non_null[key] += 1
            tags.setdefault(key, Counter())[_json_tag(value)] += 1
        for key in record:
            tags.setdefault(key, Counter())
        for name in wanted:
            values[name].append(present.get(name))
        hashes.append(hash(json.dumps(present, sort_keys=True)))
    return Chunk(rows=len(hashes), non_null=dict(non_null), tags=tags,
                 row_hashes=np.array(hashes, dtype=np.int64), values=values, malformed=malformed)


# --- Parquet ----------------------------------------------------------------------------

def _parquet(path: Path, wanted: set[str], *, delimiter: str) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    del delimiter
    with pq.ParquetFile(path) as pf:
        names = pf.schema_arrow.names
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            cols = [batch.column(i) for i in range(batch.num_columns)]
            yield Chunk(
                rows=batch.num_rows,
                non_null={n: len(c) - c.null_count for n, c in zip(names, cols, strict=True)},
                tags={n: Counter({str(c.type): len(c) - c.null_count}) if len(c) - c.null_count
                      else Counter() for n, c in zip(names, cols, strict=True)},
                row_hashes=row_hashes(cols),
                values={n: c for n, c in zip(names, cols, strict=True) if n in wanted})
