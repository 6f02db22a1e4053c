"""The dimensional profile measured from the data: exact metrics on small generated
CSV, TSV, JSONL and Parquet files, streaming across chunk boundaries, and clear errors."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.valuation import readers
from backend.valuation.errors import DatasetReadError, InputsError
from backend.valuation.inputs import DimensionalInputs
from backend.valuation.measure import profile_dataset
from backend.valuation.profile import dominant_type

AS_OF = datetime(2026, 11, 23, tzinfo=UTC)

CSV = """id,name,score,label,ts
1,a,1.5,x,2025-11-23
2,b,,y,2026-11-02
2,b,,y,2026-11-02
3,,2.5,,2026-10-01T10:00:00Z
4,d,abc,x,2025-01-01
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def profile(path: Path, **dims: object):
    return profile_dataset(path, inputs=DimensionalInputs(**dims), as_of=AS_OF)


def test_csv_metrics_are_exact(tmp_path):
    p = profile(write(tmp_path, "d.csv", CSV), label_column="label", timestamp_column="ts")
    assert (p.rows, p.columns, p.cells) == (5, 5, 25)
    assert p.null_cells == 4  # two scores, one name, one label
    assert p.completeness == pytest.approx(1 - 4 / 25, abs=0)
    assert p.duplicate_rows == 1
    assert p.uniqueness == 4 / 5
    # non-null cells 21; non-conforming: "abc" in the numeric score column
    assert p.schema_consistency == 20 / 21
    assert p.column_types == {"id": "integer", "name": "string", "score": "number",
                              "label": "string", "ts": "timestamp"}
    assert p.labels is not None
    assert (p.labels.covered_rows, p.labels.coverage, p.labels.classes) == (4, 4 / 5, 2)
    f = p.freshness
    assert (f.source, f.newest, f.oldest) == ("column:ts", "2026-11-02T00:00:00+00:00",
                                               "2025-01-01T00:00:00+00:00")
    assert f.age_days == 21
    assert f.score == 0.5 ** (21 / 365)
    assert p.format == "csv" and p.bytes == len(CSV.encode())


def test_freshness_halves_every_half_life(tmp_path):
    year_ago = (AS_OF - timedelta(days=365)).date().isoformat()
    path = write(tmp_path, "d.csv", f"v,ts\n1,{year_ago}\n2,1990-01-01\n")
    assert profile(path, timestamp_column="ts").freshness.score == 0.5
    assert profile(path, timestamp_column="ts",
                   freshness_half_life_days=730).freshness.score == 0.5 ** 0.5


def test_freshness_from_file_mtime_without_timestamp_column(tmp_path):
    path = write(tmp_path, "d.csv", "v\n1\n")
    two_years = (AS_OF - timedelta(days=730)).timestamp()
    os.utime(path, (two_years, two_years))
    f = profile(path).freshness
    assert (f.source, f.age_days, f.score) == ("file mtime", 730, 0.25)


def test_freshness_accepts_unix_seconds_and_counts_unparsable(tmp_path):
    ten_days = int((AS_OF - timedelta(days=10)).timestamp())
    path = write(tmp_path, "d.csv", f"v,ts\n1,{ten_days}\n2,yesterday\n3,\n")
    f = profile(path, timestamp_column="ts").freshness
    assert (f.age_days, f.unparsed) == (10, 1)


def test_tsv_is_read_with_tabs(tmp_path):
    p = profile(write(tmp_path, "d.tsv", "a\tb\n1\tx\n1\tx\n\ty\n"))
    assert (p.rows, p.columns, p.null_cells, p.duplicate_rows) == (3, 2, 1, 1)


def test_csv_malformed_rows_are_skipped_and_count_against_consistency(tmp_path):
    p = profile(write(tmp_path, "d.csv", "a,b\n1,2\n3,4,5\n6,7\n"))
    assert (p.rows, p.malformed_rows) == (2, 1)
    assert p.schema_consistency == 4 / (4 + 2)  # the bad row counts as 2 bad cells


def test_jsonl_metrics_are_exact(tmp_path):
    lines = [
        {"id": 1, "text": "a", "label": "pos", "ts": "2026-11-13T00:00:00Z"},
        {"id": 2, "text": "b", "label": None, "ts": "2026-11-01T00:00:00Z"},
        {"id": 2, "text": "b", "ts": "2026-11-01T00:00:00Z"},  # same as the row above
        {"id": "3", "text": "c", "label": "neg", "ts": "2026-11-03T00:00:00Z", "extra": [1]},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n[1, 2]\n\n"
    p = profile(write(tmp_path, "d.jsonl", text), label_column="label", timestamp_column="ts")
    assert (p.rows, p.columns, p.malformed_rows) == (4, 5, 2)
    assert p.cells == 20
    assert p.null_cells == 2 + 3  # two labels missing/null, "extra" in 3 of 4 rows
    assert p.duplicate_rows == 1  # a null label equals a missing one
    # non-null 15; "3" is a string in the integer id column; 2 malformed lines x 5 columns
    assert p.schema_consistency == 14 / (15 + 10)
    assert p.column_types["id"] == "integer"
    assert p.labels.coverage == 2 / 4 and p.labels.classes == 2
    assert p.freshness.age_days == 10


def test_parquet_metrics_are_exact(tmp_path):
    table = pa.table({
        "x": pa.array([1.0, None, 3.0, 3.0, 5.0]),
        "y": pa.array(["a", "b", None, None, "e"]),
        "t": pa.array([datetime(2026, 11, 20, tzinfo=UTC)] * 5, pa.timestamp("s", tz="UTC")),
        "tags": pa.array([[1], [2], [3, 4], [3, 4], None]),
    })
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=2)
    p = profile(path, timestamp_column="t", label_column="y")
    assert (p.rows, p.columns, p.null_cells, p.duplicate_rows) == (5, 4, 4, 1)
    assert p.schema_consistency == 1.0
    assert p.freshness.age_days == 3
    assert p.labels.coverage == 3 / 5


def test_duplicates_are_found_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 64)
    monkeypatch.setattr(readers, "BATCH_ROWS", 7)
    monkeypatch.setattr("backend.valuation.profile.COMPACT_AT", 10)
    rows = [f"{i % 40},{'v' * 10}" for i in range(200)]  # 40 distinct rows, 5 times each
    csv_path = write(tmp_path, "d.csv", "k,v\n" + "\n".join(rows) + "\n")
    jsonl_path = write(tmp_path, "d.jsonl", "\n".join(
        json.dumps({"k": i % 40}) for i in range(200)) + "\n")
    pq_path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"k": [i % 40 for i in range(200)]}), pq_path, row_group_size=13)
    for path in (csv_path, jsonl_path, pq_path):
        p = profile(path)
        assert (p.rows, p.duplicate_rows, p.uniqueness) == (200, 160, 0.2), path.name


def test_dominant_type_rules():
    from collections import Counter

    assert dominant_type(Counter(integer=3, float=1), text_inferred=True) == ("number", 4)
    assert dominant_type(Counter(integer=3, string=1), text_inferred=False) == ("integer", 3)
    # in text formats a column that is mostly text accepts anything
    assert dominant_type(Counter(string=2, integer=2), text_inferred=True) == ("string", 4)
    assert dominant_type(Counter(), text_inferred=True) == ("empty", 0)


# --- refusals ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "message"), [
    ("d.csv", "", "is empty"),
    ("d.csv", "a,b\n", "no readable data rows"),
    ("d.csv", "\n\n", "no header row"),
    ("d.csv", "a,a\n1,2\n", "repeats column names ['a']"),
    ("d.jsonl", "nope\n[1]\n", "no readable data rows (2 malformed)"),
    ("d.parquet", "not parquet at all", "not readable as parquet"),
    ("d.xlsx", "a,b\n1,2\n", "cannot tell the format"),
    ("d", "a,b\n1,2\n", "cannot tell the format"),
])
def test_unreadable_files_are_refused(tmp_path, name, content, message):
    with pytest.raises(DatasetReadError) as info:
        profile(write(tmp_path, name, content))
    assert message in str(info.value)


def test_non_utf8_csv_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(DatasetReadError, match=r"UTF-8|not readable"):
        profile(path)


def test_missing_file_and_empty_directory_are_refused(tmp_path):
    with pytest.raises(DatasetReadError, match="does not exist"):
        profile(tmp_path / "missing.csv")
    with pytest.raises(DatasetReadError, match="holds no data files"):
        profile(tmp_path)


def test_unknown_format_override_is_refused(tmp_path):
    with pytest.raises(DatasetReadError, match="unknown format 'xml'"):
        profile_dataset(write(tmp_path, "d.csv", CSV), inputs=DimensionalInputs(), as_of=AS_OF,
                        fmt="xml")


def test_format_override_reads_other_extension(tmp_path):
    p = profile_dataset(write(tmp_path, "d.txt", CSV), inputs=DimensionalInputs(), as_of=AS_OF,
                        fmt="csv")
    assert p.rows == 5


@pytest.mark.parametrize("role", ["label_column", "timestamp_column"])
def test_missing_named_column_is_refused(tmp_path, role):
    with pytest.raises(InputsError, match=r"column 'nope' is not in d.csv; its columns are "
                                          r"\['id', 'name', 'score', 'label', 'ts'\]"):
        profile(write(tmp_path, "d.csv", CSV), **{role: "nope"})


def test_timestamp_column_without_timestamps_is_refused(tmp_path):
    with pytest.raises(InputsError, match="no parsable timestamps"):
        profile(write(tmp_path, "d.csv", CSV), timestamp_column="name")


def test_invalid_calendar_dates_count_as_unparsed(tmp_path):
    path = write(tmp_path, "d.csv", "v,ts\n1,2026-02-30\n2,2026-11-13 08:00:00\n"
                 "3,2026-11-12T00:00:00+02:00\n")
    f = profile(path, timestamp_column="ts").freshness
    assert (f.newest, f.unparsed) == ("2026-11-13T08:00:00+00:00", 1)
    assert f.oldest == "2026-11-11T22:00:00+00:00"


def test_unreadable_file_is_refused(tmp_path):
    # a FIFO cannot be read as a dataset, whoever runs the tests (root reads any regular file)
    path = tmp_path / "d.csv"
    os.mkfifo(path)
    with pytest.raises(DatasetReadError, match="is not a regular file"):
        profile(path)


def test_row_hashes_treat_equal_values_alike():
    from backend.valuation.rowhash import row_hashes

    nan = float("nan")
    cols = [pa.array([nan, nan, None, None, 1.0]), pa.array([[1], [1], None, None, [1]]),
            pa.array(["a", "a", None, None, "a"]), pa.array([True, True, None, None, True])]
    h = row_hashes(cols).tolist()
    assert h[0] == h[1] and h[2] == h[3] and len({h[0], h[2], h[4]}) == 3
    assert row_hashes([pa.array(["ab"]), pa.array(["c"])]).tolist() != \
        row_hashes([pa.array(["a"]), pa.array(["bc"])]).tolist()
