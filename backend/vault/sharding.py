"""Plans for splitting a dataset into K shards, one per release step.

A :class:`ShardPlan` says what kind of data it is, its schema, and for each shard a
:class:`ShardSource` whose ``produce()`` yields the shard's plaintext in chunks (the
file is read again as it is sealed; nothing is loaded whole). :func:`plan_shards`
picks the splitter by kind: CSV and JSONL split on row boundaries (each CSV shard
repeats the header), Parquet on row groups (or rows), folders on whole files (each
shard a tar archive) and anything else on byte ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.vault.errors import DatasetInputError, KTooLarge

READ_CHUNK = 1024 * 1024
KINDS = ("csv", "jsonl", "parquet", "bytes", "folder")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class ShardSource:
    index: int
    size_hint: int  # plaintext bytes (exact except for Parquet, whose shards are re-encoded)
    rows: int | None
    #: Yields the plaintext; a chunk may be a view of a reused buffer, valid until the next.
    produce: Callable[[], Iterator[bytes | memoryview]]


@dataclass(frozen=True)
class ShardPlan:
    kind: str
    schema: dict[str, Any]
    sources: list[ShardSource]
    source_bytes: int
    notes: list[str] = field(default_factory=list)

    @property
    def total_hint(self) -> int:
        return sum(s.size_hint for s in self.sources)


def detect_kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    return kind_of_name(path.name)


def kind_of_name(name: str) -> str:
    """The kind a file name's extension says (``bytes`` when it says nothing known)."""
    return _SUFFIXES.get(Path(name).suffix.lower(), "bytes")


def check_k(k: int, available: int, unit: str, path: Path) -> None:
    if k < 1:
        raise DatasetInputError(f"K must be at least 1 (one shard per release step), got {k}")
    if k > available:
        raise KTooLarge(f"K={k} is larger than the data: {path} has only {available} "
                                f"{unit}; choose K <= {available}")


def stat_input(path: Path) -> int:
    """Size of a readable, non-empty regular file, or a clear refusal."""
    try:
        st = path.stat()
        with path.open("rb") as f:
            f.read(1)
    except FileNotFoundError:
        raise DatasetInputError(f"{path} does not exist (or is a broken link)") from None
    except OSError as exc:
        raise DatasetInputError(f"cannot read {path}: {exc.strerror}") from None
    if not path.is_file():
        raise DatasetInputError(f"{path} is not a regular file")
    if st.st_size == 0:
        raise DatasetInputError(f"{path} is empty; there is nothing to seal")
    return st.st_size


def read_range(path: Path, start: int, end: int, chunk: int = READ_CHUNK) -> Iterator[memoryview]:
    """Bytes ``[start, end)`` of ``path`` in chunks; the file must not shrink meanwhile.

    The chunks are views of ONE reused buffer: use each before asking for the next.
    """
    buf = bytearray(chunk)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        f.seek(start)
        left = end - start
        while left > 0:
            n = f.readinto(view[:min(chunk, left)])
            if not n:
                raise DatasetInputError(f"{path} changed while it was being sealed (it got "
                                        "shorter); seal it again once it is stable")
            left -= n
            yield view[:n]


def even_cuts(total: int, k: int) -> list[int]:
    """k+1 offsets splitting ``total`` into k near-equal parts."""
    return [total * i // k for i in range(k + 1)]


def plan_bytes(path: Path, k: int) -> ShardPlan:
    size = stat_input(path)
    check_k(k, size, "bytes", path)
    cuts = even_cuts(size, k)
    sources = [ShardSource(i, cuts[i + 1] - cuts[i], None,
                           lambda a=cuts[i], b=cuts[i + 1]: read_range(path, a, b))
               for i in range(k)]
    return ShardPlan("bytes", {"media_type": "application/octet-stream"}, sources, size)
