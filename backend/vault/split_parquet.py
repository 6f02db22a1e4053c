"""Parquet splitting: whole row groups per shard when there are at least K of them,
otherwise row ranges. Each shard is re-written as a Parquet file of its own (same
Arrow schema) into a spool file, one row group at a time, then streamed to the sealer
and removed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from backend.vault.atomic import discard, open_spool
from backend.vault.errors import DatasetInputError
from backend.vault.sharding import READ_CHUNK, ShardPlan, ShardSource, check_k, stat_input

_BATCH_ROWS = 65_536


def _cuts_on_groups(group_rows: list[int], k: int) -> list[int]:
    """Row offsets of k shards whose edges fall on row-group edges, near an even split."""
    starts = [0]
    for n in group_rows:
        starts.append(starts[-1] + n)
    total, cuts, g = starts[-1], [0], 0
    for i in range(1, k):
        target = total * i // k
        g = max(g + 1, min(range(g + 1, len(group_rows) - (k - i) + 1),
                           key=lambda j: abs(starts[j] - target)))
        cuts.append(starts[g])
    cuts.append(total)
    return cuts


def plan_parquet(path: Path, k: int, *, spool_dir: Path | None) -> ShardPlan:
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = stat_input(path)
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetInputError(f"{path} is not a readable Parquet file: {exc}") from None
    meta = pf.metadata
    group_rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    total = meta.num_rows
    check_k(k, total, "rows", path)
    on_groups = meta.num_row_groups >= k
    cuts = _cuts_on_groups(group_rows, k) if on_groups else [total * i // k for i in range(k + 1)]
    group_starts = [sum(group_rows[:i]) for i in range(len(group_rows))]
    spool = spool_dir or path.parent

    def produce(a: int, b: int) -> Iterator[bytes]:
        f, tmp = open_spool(spool, "parquet-shard-")
        try:
            src = pq.ParquetFile(path)
            with pq.ParquetWriter(f, src.schema_arrow) as writer:
                for g, start in enumerate(group_starts):
                    if start >= b or start + group_rows[g] <= a:
                        continue
                    offset = start
                    for batch in src.iter_batches(batch_size=_BATCH_ROWS, row_groups=[g]):
                        lo, hi = max(a - offset, 0), min(b - offset, batch.num_rows)
                        if lo < hi:
                            writer.write_batch(batch.slice(lo, hi - lo))
                        offset += batch.num_rows
            f.seek(0)
            while data := f.read(READ_CHUNK):
                yield data
        except pa.ArrowException as exc:
            raise DatasetInputError(f"{path} could not be read as Parquet: {exc}") from None
        finally:
            f.close()
            discard(tmp)

    sources = [ShardSource(i, size * (cuts[i + 1] - cuts[i]) // total, cuts[i + 1] - cuts[i],
                           lambda a=cuts[i], b=cuts[i + 1]: produce(a, b)) for i in range(k)]
    schema = {"format": "parquet", "split": "row groups" if on_groups else "rows",
              "fields": [{"name": fld.name, "type": str(fld.type), "nullable": fld.nullable}
                         for fld in pf.schema_arrow]}
    return ShardPlan("parquet", schema, sources, size)
