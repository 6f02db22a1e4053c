"""``gpubarter bench valuation``: how fast and how lean the dimensional profile is.

Generates a CSV and a Parquet file with duplicates, nulls, a label and a timestamp
column, then profiles them. Baselines measured in the same run: pyarrow merely
streaming the same file (CSV parsed as text, Parquet batches), the floor any profile
pays. Budget: Arrow's peak allocation stays flat (independent of the file's size).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cli.bench import Measurement
from cli.bench._timing import timed

ROWS = 400_000
ARROW_PEAK_BUDGET_MIB = 64


def _table(rows: int) -> pa.Table:
    rng = np.random.default_rng(7)
    ids = rng.integers(0, rows * 9 // 10, rows)
    return pa.table({
        "id": ids,
        "x": np.where(rng.random(rows) < 0.05, np.nan, rng.random(rows).round(4)),
        "label": pa.array(rng.integers(0, 5, rows)).cast(pa.string()),
        "ts": pa.array(np.datetime64("2026-01-01") + rng.integers(0, 300, rows)
                       .astype("timedelta64[D]")).cast(pa.timestamp("s")),
        "text": pa.array([f"sample text {i % 1000}" for i in range(rows)]),
    })


def _profile(path: Path) -> float:
    from backend.valuation.inputs import DimensionalInputs
    from backend.valuation.measure import profile_dataset

    seconds, _ = timed(lambda: profile_dataset(
        path, inputs=DimensionalInputs(label_column="label", timestamp_column="ts"),
        as_of=datetime(2026, 11, 23, tzinfo=UTC)))
    return seconds


def _stream_csv(path: Path) -> None:
    names = pacsv.open_csv(path).schema.names
    reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 20),
                            convert_options=pacsv.ConvertOptions(
                                column_types={n: pa.string() for n in names}))
    for _ in reader:
        pass


def _stream_parquet(path: Path) -> None:
    with pq.ParquetFile(path) as pf:
        for _ in pf.iter_batches(batch_size=65_536):
            pass


def run() -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="bench-valuation-") as tmp:
        table = _table(ROWS)
        csv_path, pq_path = Path(tmp) / "data.csv", Path(tmp) / "data.parquet"
        pacsv.write_csv(table, csv_path)
        pq.write_table(table, pq_path, row_group_size=65_536)
        mib = csv_path.stat().st_size / 2**20
        _profile(csv_path)  # warm imports and the page cache
        pool = pa.default_memory_pool()
        csv_base, _ = timed(lambda: _stream_csv(csv_path))
        csv_s = _profile(csv_path)
        pq_base, _ = timed(lambda: _stream_parquet(pq_path))
        pq_s = _profile(pq_path)
        peak = pool.max_memory() / 2**20
    return [
        Measurement(f"profile CSV ({ROWS:,} rows, {mib:.0f} MiB)", mib / csv_s, "MiB/s",
                    "pyarrow streaming the CSV as text", mib / csv_base),
        Measurement(f"profile Parquet ({ROWS:,} rows)", ROWS / pq_s / 1e6, "Mrows/s",
                    "pyarrow streaming the Parquet batches", ROWS / pq_base / 1e6),
        Measurement("Arrow peak allocation while profiling", peak, "MiB",
                    budget=f"<= {ARROW_PEAK_BUDGET_MIB} MiB", ok=peak <= ARROW_PEAK_BUDGET_MIB),
    ]
