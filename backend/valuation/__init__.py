"""The valuation engine: appraise a dataset in GPU-hours of a GPU class.

Models (each states its inputs and assumptions): cost, market, income, with-and-without,
task-specific, and a dimensional model measured from the data itself. The report combines
them into low / mid / high GPU-hours with reasons, as canonical JSON whose keccak256 is
the appraisal hash recorded in the DatasetRegistry.
"""

from backend.valuation.engine import appraise
from backend.valuation.errors import DatasetReadError, InputsError, ValuationError
from backend.valuation.inputs import AppraisalInputs, load_inputs, parse_inputs
from backend.valuation.report import (
    appraisal_hash,
    canonical_json,
    load_report,
    summary,
    write_outputs,
)

__all__ = ["AppraisalInputs", "DatasetReadError", "InputsError", "ValuationError",
           "appraisal_hash", "appraise", "canonical_json", "load_inputs", "load_report",
           "parse_inputs", "summary", "write_outputs"]
