"""The valuation models, their combination into low / mid / high GPU-hours, the
canonical report and its hash, and refusals of bad inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from backend.valuation import (
    InputsError,
    appraisal_hash,
    appraise,
    canonical_json,
    load_inputs,
    load_report,
    parse_inputs,
    summary,
    write_outputs,
)
from backend.valuation.models.income import npv

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-23T00:00:00Z"
CLASS = "nvidia-h100-80gb"
# 10 rows, 2 duplicates, 1 null in 30 cells, fresh, fully labelled
CSV = "id,label,ts\n" + "".join(f"{i},{'ab'[i % 2]},2026-11-23\n" for i in range(8)) + \
      "7,b,2026-11-23\n8,,2026-11-23\n"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    return path


def inputs(**sections: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"pricing": {"price_per_gpu_hour": 2.0}, "as_of": AS_OF,
                            "dimensional": {"label_column": "label", "timestamp_column": "ts"}}
    return base | sections


def run(data: Path, **sections: Any) -> dict[str, Any]:
    return appraise(data, CLASS, parse_inputs(inputs(**sections)))


def model(report: dict[str, Any], name: str) -> dict[str, Any]:
    (m,) = [m for m in report["models"] if m["name"] == name]
    return m


# --- models -----------------------------------------------------------------------------

def test_cost_model(data):
    r = run(data, cost={"collection": 600, "cleaning": 300, "labeling": 100,
                        "obsolescence": 0.2, "markup": 0.5, "uncertainty": 0.1})
    m = model(r, "cost")
    assert m["value"]["mid"] == pytest.approx(1000 * 0.8 * 1.5)
    assert m["gpu_hours"] == pytest.approx({"low": 540, "mid": 600, "high": 660})
    assert any("obsolescence" in a for a in m["assumptions"])


def test_market_model_scales_by_rows_and_quality(data):
    r = run(data, market={"comparables": [
        {"name": "small", "price": 50, "rows": 5},
        {"name": "big", "price": 400, "rows": 100},
        {"name": "good", "price": 300, "rows": 10, "quality": 1.0}]})
    m = model(r, "market")
    q = model(r, "dimensional")["quality_score"]
    values = sorted([100.0, 40.0, 300.0 * q])
    assert m["value"] == pytest.approx({"low": values[0], "mid": values[1], "high": values[2]})
    one = model(run(data, market={"comparables": [{"name": "a", "price": 30, "rows": 10}],
                                  "uncertainty": 0.5}), "market")
    assert one["value"] == pytest.approx({"low": 15, "mid": 30, "high": 45})


def test_dimensional_quality_score_and_price(data):
    r = run(data, dimensional={"label_column": "label", "timestamp_column": "ts",
                               "value_per_1k_rows": 1000, "uncertainty": 0.2})
    p = r["profile"]
    assert (p["completeness"], p["uniqueness"], p["labels"]["coverage"]) == (
        pytest.approx(29 / 30), 0.9, 0.9)
    assert p["freshness"]["score"] == 1.0 and p["schema_consistency"] == 1.0
    m = model(r, "dimensional")
    expected_q = (0.25 * 29 / 30 + 0.2 * 0.9 + 0.15 + 0.2 + 0.2 * 0.9) / 1.0
    assert m["quality_score"] == pytest.approx(expected_q)
    assert m["value"]["mid"] == pytest.approx(10 / 1000 * 1000 * expected_q)
    assert m["gpu_hours"]["low"] == pytest.approx(m["value"]["mid"] * 0.8 / 2)


def test_dimensional_without_rate_measures_but_does_not_price(data):
    r = run(data)
    m = model(r, "dimensional")
    assert m["value"] is None and m["gpu_hours"] is None
    assert any("value_per_1k_rows" in x for x in m["reasons"])
    assert r["result"]["gpu_hours"] is None
    assert "no model could put a value" in r["result"]["reasons"][0]


def test_income_model_discounts_cash_flows(data):
    r = run(data, income={"cash_flows": [110, 121], "discount_rate": 0.1,
                          "discount_rate_spread": 0.05, "attribution": 0.5})
    m = model(r, "income")
    assert m["value"]["mid"] == pytest.approx(100)  # (100 + 100) * 0.5
    assert m["value"]["low"] == pytest.approx(npv([55, 60.5], 0.15))
    assert m["value"]["high"] == pytest.approx(npv([55, 60.5], 0.05))


def test_income_negative_present_value_counts_as_zero(data):
    m = model(run(data, income={"cash_flows": [-100, 10], "discount_rate": 0.1}), "income")
    assert m["value"] == {"low": 0, "mid": 0, "high": 0}


def test_with_and_without_values_the_difference(data):
    m = model(run(data, with_and_without={"with_data": [300, 300], "without_data": [190, 179],
                                          "discount_rate": 0.1, "discount_rate_spread": 0}),
              "with_and_without")
    assert m["value"]["mid"] == pytest.approx(110 / 1.1 + 121 / 1.21)


def test_task_specific_model(data):
    task = {"task": "sentiment", "metric": "accuracy", "baseline": 0.80, "with_data": 0.85,
            "value_per_unit": 10_000, "relevance": 0.5}
    m = model(run(data, task_specific=task), "task_specific")
    assert m["value"] == pytest.approx({"low": 187.5, "mid": 250, "high": 312.5})
    lower = task | {"metric": "loss", "baseline": 2.0, "with_data": 1.5, "with_data_low": 1.9,
                    "with_data_high": 1.0, "higher_is_better": False}
    m = model(run(data, task_specific=lower), "task_specific")
    assert m["value"] == pytest.approx({"low": 500, "mid": 2500, "high": 5000})


def test_combined_range_is_weighted_mean_of_models(data):
    r = run(data, cost={"collection": 1000, "uncertainty": 0},
            task_specific={"task": "t", "metric": "m", "baseline": 0, "with_data": 1,
                           "value_per_unit": 4000, "uncertainty": 0},
            model_weights={"cost": 3, "task_specific": 1})
    res = r["result"]
    assert res["gpu_hours"] == pytest.approx({"low": 875, "mid": 875, "high": 875})
    assert res["weights"] == {"cost": 3, "task_specific": 1}
    assert "weighted mean of 2 model(s)" in res["reasons"][0]
    assert "models disagree" in res["reasons"][1]  # 2000 vs 500 GPU-hours


def test_models_without_price_are_not_converted(data):
    r = appraise(data, CLASS, parse_inputs({"cost": {"collection": 10}, "as_of": AS_OF}))
    assert model(r, "cost")["gpu_hours"] is None
    assert r["result"]["gpu_hours"] is None
    assert "price_per_gpu_hour" in r["result"]["reasons"][0]


# --- report and hash --------------------------------------------------------------------

FULL = {"cost": {"collection": 800}, "income": {"cash_flows": [500, 500], "discount_rate": 0.1},
        "market": {"comparables": [{"name": "a", "price": 90, "rows": 10}]}}


def test_report_hash_is_stable_and_binds_content(data, tmp_path):
    first = run(data, **FULL)
    assert appraisal_hash(run(data, **FULL)) == appraisal_hash(first)
    # a pretty-printed copy with keys in another order hashes the same
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(canonical_json(first)), indent=2)[::1])
    assert appraisal_hash(load_report(pretty)) == appraisal_hash(first)
    # any change of inputs or data changes it
    assert appraisal_hash(run(data, **(FULL | {"cost": {"collection": 801}}))) != \
        appraisal_hash(first)
    data.write_text(CSV + "9,a,2026-11-23\n")
    assert appraisal_hash(run(data, **FULL)) != appraisal_hash(first)


def test_report_hash_is_the_same_in_other_processes(data, tmp_path):
    """Row hashing uses Python's salted hash(); the report must not depend on the salt."""
    spec = tmp_path / "inputs.json"
    spec.write_text(json.dumps(inputs(**FULL)))
    code = ("import sys; from backend.valuation import appraise, appraisal_hash, load_inputs; "
            "print(appraisal_hash(appraise(sys.argv[1], sys.argv[2], load_inputs(sys.argv[3]))))")
    hashes = {subprocess.run([sys.executable, "-c", code, str(data), CLASS, str(spec)],
                             env=os.environ | {"PYTHONHASHSEED": seed}, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
              for seed in ("1", "2")}
    assert hashes == {appraisal_hash(appraise(data, CLASS, load_inputs(spec)))}


def test_report_holds_no_machine_path(data):
    text = canonical_json(run(data, **FULL)).decode()
    assert str(data.parent) not in text
    assert json.loads(text)["dataset"]["name"] == "data.csv"


def test_canonical_json_is_compact_sorted_and_rounded():
    assert canonical_json({"b": 0.1 + 0.2, "a": [1.0, 2.5], "c": "é"}) == \
        '{"a":[1,2.5],"b":0.3,"c":"é"}'.encode()
    with pytest.raises(Exception, match="non-finite"):
        canonical_json({"x": float("nan")})


def test_write_outputs(data, tmp_path):
    report = run(data, **FULL)
    written = write_outputs(report, tmp_path / "out")
    raw = written.json_path.read_bytes()
    assert raw == canonical_json(report)
    assert written.appraisal_hash == "0x" + keccak(raw).hex()
    assert written.summary_path.read_text() == summary(report)
    assert written.chart_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "chart.png", "report.json", "summary.txt"]  # no temporary files left


def test_summary_reads_like_an_appraisal(data):
    text = summary(run(data, **FULL))
    assert "Result (low / mid / high):" in text and "GPU-hours" in text
    assert "Cost approach:" in text and "assumes:" in text and "why:" in text
    assert "label coverage 0.9000 (2 classes)" in text


def test_load_report_refuses_other_json(tmp_path):
    other = tmp_path / "x.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(InputsError, match="not an appraisal report"):
        load_report(other)
    other.write_text("{")
    with pytest.raises(InputsError, match="not readable JSON"):
        load_report(other)
    with pytest.raises(InputsError, match="does not exist"):
        load_report(tmp_path / "missing.json")


# --- bad inputs -------------------------------------------------------------------------

@pytest.mark.parametrize(("section", "message"), [
    ({"cost": {"collection": -5}}, "cost.collection: Input should be greater than or equal to 0"),
    ({"cost": {}}, "cost: cost inputs sum to zero"),
    ({"cost": {"collection": 1, "obsolescence": 1}}, "cost.obsolescence"),
    ({"pricing": {"price_per_gpu_hour": 0}}, "pricing.price_per_gpu_hour"),
    ({"market": {"comparables": []}}, "market.comparables"),
    ({"market": {"comparables": [{"name": "a", "price": 1, "rows": 0}]}}, "rows"),
    ({"income": {"cash_flows": [1], "discount_rate": -0.1}}, "income.discount_rate"),
    ({"with_and_without": {"with_data": [1, 2], "without_data": [1], "discount_rate": 0.1}},
     "with_data has 2 periods but without_data has 1"),
    ({"dimensional": {"weights": {"beauty": 1}}}, "unknown dimensions ['beauty']"),
    ({"model_weights": {"astrology": 1}}, "model_weights.astrology"),
    ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ({"as_of": "yesterday"}, "as_of"),
])
def test_bad_inputs_are_refused(section, message):
    with pytest.raises(InputsError) as info:
        parse_inputs(inputs(**section))
    assert message in str(info.value)


def test_bad_inputs_files_are_refused(tmp_path):
    with pytest.raises(InputsError, match="does not exist"):
        load_inputs(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputsError, match="not valid JSON"):
        load_inputs(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(InputsError, match="is invalid"):
        load_inputs(bad)


@pytest.mark.parametrize("gpu_class", ["", "H100", "nvidia h100", "x" * 80])
def test_bad_gpu_class_is_refused(data, gpu_class):
    with pytest.raises(InputsError, match="is not a class name"):
        appraise(data, gpu_class, parse_inputs(inputs()))


def test_write_outputs_leaves_nothing_when_rendering_fails(data, tmp_path, monkeypatch):
    def broken(_report: dict[str, Any]) -> bytes:
        raise RuntimeError("renderer broke")

    monkeypatch.setattr("backend.valuation.chart.render_chart", broken)
    with pytest.raises(RuntimeError):
        write_outputs(run(data, **FULL), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_write_outputs_refuses_a_file_as_folder(data, tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(InputsError, match="cannot create output folder"):
        write_outputs(run(data, **FULL), tmp_path / "taken")


def test_example_inputs_file_uses_every_model(data):
    spec = load_inputs(ROOT / "backend" / "valuation" / "examples" / "inputs.json")
    report = appraise(data, CLASS, spec)
    assert {m["name"] for m in report["models"] if m["gpu_hours"]} == {
        "cost", "market", "income", "with_and_without", "task_specific", "dimensional"}
    low, mid, high = (report["result"]["gpu_hours"][k] for k in ("low", "mid", "high"))
    assert 0 < low <= mid <= high
