"""Measuring a dataset for its appraisal: a file (:mod:`backend.valuation.profile`) or a folder of
files (:mod:`backend.valuation.folder`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from backend.valuation.folder import profile_folder
from backend.valuation.inputs import DimensionalInputs
from backend.valuation.profile import DatasetProfile, profile_file


def profile_dataset(path: Path, *, inputs: DimensionalInputs, as_of: datetime,
                    fmt: str | None = None) -> DatasetProfile:
    """Measure ``path`` (a CSV, TSV, JSONL or Parquet file, or a folder of them) in one
    streaming pass."""
    path = Path(path)
    if path.is_dir():
        return profile_folder(path, inputs=inputs, as_of=as_of, fmt=fmt)
    return profile_file(path, inputs=inputs, as_of=as_of, fmt=fmt)
