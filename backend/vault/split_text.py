"""Row-aligned splitting of CSV and JSONL files.

One pass over the file finds, for each target offset ``i * size / K``, the next row
end at or after it, and counts rows per shard. For CSV a newline inside a quoted
field is not a row end: the scan tracks quote parity (RFC 4180 escapes a quote by
doubling it, which leaves parity unchanged). Every CSV shard starts with the header
row, so each shard is a valid CSV on its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from backend.vault.errors import DatasetInputError, KTooLarge
from backend.vault.sharding import READ_CHUNK, ShardPlan, ShardSource, read_range, stat_input

_QUOTE = b'"'
_NL = b"\n"
_SCAN_CHUNK = 4 * READ_CHUNK


def _row_ends(data: bytes, in_quotes: bool, quoted: bool) -> tuple[int, bool]:
    """(row ends in ``data``, quote state after it) given the quote state before it."""
    if not quoted or _QUOTE not in data:
        return (0 if in_quotes else data.count(_NL)), in_quotes
    parts = data.split(_QUOTE)
    outside = 0 if in_quotes else 1  # parts[0] is outside quotes unless we start inside
    count = sum(p.count(_NL) for p in parts[1 - outside::2])
    return count, in_quotes ^ bool((len(parts) - 1) % 2)


def _next_row_end(data: bytes, start: int, in_quotes: bool, quoted: bool) -> int:
    """Index just past the first row end at or after ``start`` (``in_quotes`` holds at
    ``start``), or -1."""
    i = data.find(_NL, start)
    while i != -1:
        if not quoted or not in_quotes ^ bool(data.count(_QUOTE, start, i) % 2):
            return i + 1
        i = data.find(_NL, i + 1)
    return -1


def header_row(path: Path, quoted: bool) -> bytes:
    with path.open("rb") as f:
        head = f.read(_SCAN_CHUNK)
    end = _next_row_end(head, 0, False, quoted)
    if end == -1:
        if len(head) < _SCAN_CHUNK:
            raise DatasetInputError(f"{path} has a header row but no data rows")
        raise DatasetInputError(f"{path}: the header row is longer than {_SCAN_CHUNK} bytes")
    return head[:end]


def _scan(path: Path, k: int, start: int, size: int, quoted: bool) -> tuple[list[int], list[int]]:
    """Shard boundaries (k+1 offsets, or fewer when rows run out) and rows per shard."""
    targets = [start + (size - start) * i // k for i in range(1, k)]
    cuts, rows = [start], [0]
    in_quotes, offset, last = False, start, b""
    for view in read_range(path, start, size, _SCAN_CHUNK):
        chunk, pos = bytes(view), 0
        while targets and len(cuts) < k:
            begin = max(targets[0] - offset, pos)
            if begin >= len(chunk):
                break
            n, state_at_begin = _row_ends(chunk[pos:begin], in_quotes, quoted)
            end = _next_row_end(chunk, begin, state_at_begin, quoted)
            if end == -1:
                break
            n2, in_quotes = _row_ends(chunk[begin:end], state_at_begin, quoted)
            rows[-1] += n + n2
            cuts.append(offset + end)
            rows.append(0)
            targets.pop(0)
            pos = end
        n, in_quotes = _row_ends(chunk[pos:], in_quotes, quoted)
        rows[-1] += n
        offset += len(chunk)
        last = chunk[-1:]
    if last != _NL and size > cuts[-1]:
        rows[-1] += 1  # a last row without a trailing newline
    cuts.append(size)
    return cuts, rows


def _schema(kind: str, path: Path, header: bytes) -> dict[str, object]:
    if kind == "csv":
        columns = next(csv.reader(io.StringIO(header.decode("utf-8", errors="replace"))), [])
        return {"format": "csv", "columns": columns, "header_in_every_shard": True}
    with path.open("rb") as f:
        first = f.readline(_SCAN_CHUNK)
    try:
        record = json.loads(first)
    except ValueError:
        raise DatasetInputError(f"{path} is not JSON Lines: its first line is not JSON") from None
    fields = sorted(record) if isinstance(record, dict) else []
    return {"format": "jsonl", "fields_of_first_record": fields}


def plan_text(path: Path, k: int, kind: str) -> ShardPlan:
    size = stat_input(path)
    quoted = kind == "csv"
    header = header_row(path, quoted) if kind == "csv" else b""
    if k < 1:
        raise DatasetInputError(f"K must be at least 1 (one shard per release step), got {k}")
    cuts, rows = _scan(path, k, len(header), size, quoted)
    total_rows = sum(rows)
    if total_rows == 0:
        raise DatasetInputError(f"{path} has no data rows")
    if len(cuts) - 1 < k or any(r == 0 for r in rows):
        raise KTooLarge(f"K={k} is larger than the data: {path} has only {total_rows} "
                                f"rows; choose K <= {total_rows}")

    def produce(a: int, b: int) -> Iterator[bytes]:
        if header:
            yield header
        yield from read_range(path, a, b)

    sources = [ShardSource(i, len(header) + cuts[i + 1] - cuts[i], rows[i],
                           lambda a=cuts[i], b=cuts[i + 1]: produce(a, b)) for i in range(k)]
    return ShardPlan(kind, _schema(kind, path, header), sources, size)
