"""Appraising a folder of data files: per-file profiles, combined metrics across files,
the schema check between files, a stable identity, and clear refusals."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.valuation import appraisal_hash, appraise
from backend.valuation.errors import DatasetReadError, InputsError
from backend.valuation.inputs import DimensionalInputs
from backend.valuation.measure import profile_dataset

AS_OF = datetime(2026, 11, 23, tzinfo=UTC)
PART_A = "id,name,ts\n1,a,2026-11-01\n2,b,2026-11-02\n3,,2026-11-03\n"
PART_B = "id,name,ts\n3,,2026-11-03\n4,d,2026-11-13\n"  # row 3 repeats a row of part A


def profile(path, **dims):
    return profile_dataset(path, inputs=DimensionalInputs(**dims), as_of=AS_OF)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "sales"
    (root / "2026").mkdir(parents=True)
    (root / "a.csv").write_text(PART_A)
    (root / "2026" / "b.csv").write_text(PART_B)
    (root / "README.md").write_text("not data\n")
    return root


def test_folder_combines_files_and_finds_duplicates_across_them(folder):
    p = profile(folder, timestamp_column="ts")
    assert (p.name, p.format, p.rows, p.columns, p.cells) == ("sales", "csv", 5, 3, 15)
    assert p.duplicate_rows == 1 and p.uniqueness == 4 / 5
    assert p.null_cells == 2 and p.completeness == 1 - 2 / 15
    assert p.schema_consistency == 1.0
    assert p.freshness.newest.startswith("2026-11-13") and p.freshness.age_days == 10
    assert p.bytes == len(PART_A) + len(PART_B)
    names = [f["name"] for f in p.files]
    assert names == ["2026/b.csv", "a.csv", "README.md"]
    assert p.files[0]["rows"] == 2 and p.files[1]["rows"] == 3 and p.files[2]["skipped"]
    assert p.files[1]["duplicate_rows"] == 0  # each file alone has no duplicate
    check = p.schema_check
    assert check["mismatched_files"] == [] and check["type_conflicts"] == {}
    assert check["files"] == check["files_matching"] == 2


def test_folder_identity_is_its_sorted_listing_not_its_location(folder, tmp_path):
    listing = "".join(f"{hashlib.sha256(text.encode()).hexdigest()}  {rel}\n"
                      for rel, text in (("2026/b.csv", PART_B), ("a.csv", PART_A)))
    p = profile(folder, timestamp_column="ts")
    assert p.sha256 == hashlib.sha256(listing.encode()).hexdigest()
    moved = shutil.copytree(folder, tmp_path / "elsewhere" / "sales")
    a = appraise(folder, "nvidia-h100-80gb", _inputs())
    b = appraise(moved, "nvidia-h100-80gb", _inputs())
    assert appraisal_hash(a) == appraisal_hash(b)
    assert a["dataset"]["name"] == "sales" and a["profile"]["schema_check"]["files"] == 2


def _inputs():
    from backend.valuation.inputs import AppraisalInputs

    return AppraisalInputs(dimensional=DimensionalInputs(timestamp_column="ts", value_per_1k_rows=10),
                           pricing={"price_per_gpu_hour": 2.0}, as_of=AS_OF)


def test_schema_check_counts_missing_columns_and_type_conflicts(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "a.csv").write_text("id,score\n1,1.5\n2,2.5\n3,3.5\n")
    (root / "b.csv").write_text("id\n4\n")  # lacks score
    (root / "c.csv").write_text("id,score\n5,high\n6,low\n")  # score as text
    p = profile(root)
    check = p.schema_check
    assert check["reference_columns"] == ["id", "score"]
    assert check["mismatched_files"] == [{"file": "b.csv", "missing": ["score"], "extra": []}]
    assert check["missing_reference_cells"] == 1
    assert check["type_conflicts"] == {"score": {"a.csv": "number", "c.csv": "string"}}
    assert (p.rows, p.null_cells) == (6, 1)  # b.csv's missing score is a null cell
    # non-null cells: 6 ids + 5 scores; "high" and "low" do not conform; plus 1 missing cell
    assert p.schema_consistency == (11 - 2) / (11 + 1)


def test_folder_of_parquet_files(tmp_path):
    root = tmp_path / "pq"
    root.mkdir()
    for i in range(3):
        pq.write_table(pa.table({"x": [i, i + 1], "y": ["a", None]}), root / f"part-{i}.parquet")
    p = profile(root, label_column="y")
    assert (p.format, p.rows, p.columns, p.null_cells) == ("parquet", 6, 2, 3)
    assert p.labels is not None and p.labels.coverage == 3 / 6
    assert p.duplicate_rows == 0


@pytest.mark.parametrize(("files", "message"), [
    ({}, "holds no data files"),
    ({"notes.txt": "hello"}, "holds no data files"),
    ({"a.csv": "x\n1\n", "b.jsonl": '{"x": 1}\n'}, "mixes formats ['csv', 'jsonl']"),
    ({"a.csv": "x\n1\n", "b.csv": ""}, "is empty"),
    ({"a.csv": "x\n1\n", "b.csv": "x\n"}, "b.csv has no readable data rows"),
])
def test_bad_folders_are_refused(tmp_path, files, message):
    root = tmp_path / "d"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    with pytest.raises(DatasetReadError) as info:
        profile(root)
    assert message in str(info.value)


def test_folder_label_column_must_exist_in_some_file(folder):
    with pytest.raises(InputsError, match="label column 'nope' is not in sales"):
        profile(folder, label_column="nope")


def test_cli_appraises_a_folder(capsys, folder, tmp_path):
    from cli import main

    code = main(["dataset", "appraise", str(folder), "--class", "nvidia-h100-80gb",
                 "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    assert "Appraisal of sales (csv" in out and "5 rows x 3 columns" in out
    report = (tmp_path / "out" / "report.json").read_text()
    assert '"schema_check"' in report and '"2026/b.csv"' in report


def test_cli_refuses_a_folder_without_data_in_one_line(capsys, tmp_path):
    from cli import main

    (tmp_path / "empty").mkdir()
    code = main(["dataset", "appraise", str(tmp_path / "empty"), "--class", "nvidia-h100-80gb",
                 "--out", str(tmp_path / "out")])
    _, err = capsys.readouterr()
    assert code == 1 and err.startswith("error: ") and "holds no data files" in err
    assert not (tmp_path / "out").exists()
