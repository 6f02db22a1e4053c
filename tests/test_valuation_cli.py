"""``gpubarter dataset appraise`` and ``gpubarter dataset register`` (the latter against a
real anvil chain): outputs, the recorded appraisal hash, and clear one-line refusals that
leave nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from cli import main
from gpubarter.deployment_record import save_deployment

ROOT = Path(__file__).resolve().parents[1]
CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
ROOT_HASH = "0x" + keccak(b"merkle root").hex()
COMMITMENTS = ["0x" + keccak(b"key %d" % i).hex() for i in range(4)]
CSV = "id,label\n1,a\n2,b\n2,b\n3,\n"
INPUTS = {"pricing": {"price_per_gpu_hour": 2.5}, "cost": {"collection": 1000},
          "dimensional": {"label_column": "label"}, "as_of": "2026-11-23T00:00:00Z"}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    return path


@pytest.fixture
def inputs_file(tmp_path: Path) -> Path:
    return write_json(tmp_path / "inputs.json", INPUTS)


@pytest.fixture
def report(capsys, dataset, inputs_file, tmp_path) -> Path:
    code, _, err = cli(capsys, "dataset", "appraise", dataset, "--class", "nvidia-h100-80gb",
                       "--inputs", inputs_file, "--out", tmp_path / "appraisal")
    assert code == 0, err
    return tmp_path / "appraisal" / "report.json"


# --- appraise ---------------------------------------------------------------------------

def test_appraise_writes_report_summary_chart_and_prints_hash(capsys, dataset, inputs_file,
                                                             tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = cli(capsys, "dataset", "appraise", dataset, "--class", "nvidia-h100-80gb",
                         "--inputs", inputs_file, "--out", out_dir)
    assert (code, err) == (0, "")
    report = json.loads((out_dir / "report.json").read_text())
    assert report["profile"]["duplicate_rows"] == 1
    assert report["result"]["gpu_hours"]["mid"] == 400  # 1000 USD / 2.5 USD per GPU-hour
    digest = "0x" + keccak((out_dir / "report.json").read_bytes()).hex()
    assert f"appraisal hash: {digest}" in out
    assert "Result (low / mid / high): 340.0 / 400.0 / 460.0 GPU-hours" in out
    assert (out_dir / "chart.png").stat().st_size > 1000


@pytest.mark.parametrize(("args", "inputs", "message"), [
    (["missing.csv"], INPUTS, "dataset missing.csv does not exist"),
    (["data.csv"], INPUTS | {"cost": {"collection": -1}},
     "cost.collection: Input should be greater than or equal to 0"),
    (["data.csv"], INPUTS | {"dimensional": {"label_column": "target"}},
     "label column 'target' is not in data.csv"),
    (["data.csv", "--format", "xml"], INPUTS, "unknown format 'xml'"),
    (["data.csv", "--class", "H100!"], INPUTS, "is not a class name"),
    (["empty.csv"], INPUTS, "is empty"),
])
def test_appraise_refuses_bad_input_with_one_line_and_writes_nothing(
        capsys, dataset, tmp_path, monkeypatch, args, inputs, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.csv").write_text("")
    spec = write_json(tmp_path / "inputs.json", inputs)
    if "--class" not in args:
        args = [*args, "--class", "nvidia-h100-80gb"]
    code, out, err = cli(capsys, "dataset", "appraise", *args, "--inputs", spec,
                         "--out", tmp_path / "out")
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "out").exists()


def test_appraise_refuses_inputs_file_that_is_not_json(capsys, dataset, tmp_path):
    bad = tmp_path / "inputs.json"
    bad.write_text("{cost: 1}")
    code, _, err = cli(capsys, "dataset", "appraise", dataset, "--class", "nvidia-h100-80gb",
                       "--inputs", bad, "--out", tmp_path / "out")
    assert code == 1 and "is not valid JSON" in err


def test_appraise_runs_as_a_program(dataset, tmp_path, cli_env):
    """The installed entry point, in its own process."""
    done = subprocess.run([str(Path(sys.executable).parent / "gpubarter"), "dataset", "appraise",
                           str(dataset), "--class", "nvidia-a100-40gb", "--out",
                           str(tmp_path / "o")], env=cli_env, cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Result (low / mid / high): not valued" in done.stdout
    assert (tmp_path / "o" / "report.json").exists()


# --- register ---------------------------------------------------------------------------

@pytest.fixture
def chain_env(chain, deployment, tmp_path, monkeypatch):
    """Point the CLI's `local` network at the test chain and its deployment."""
    directory = tmp_path / "deployments"
    save_deployment(deployment, directory)
    monkeypatch.setenv("GPUBARTER_LOCAL_RPC_URL", chain.url)
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(directory))
    for key in ("GPUBARTER_PRIVATE_KEY", "GPUBARTER_KEYSTORE"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def registry(w3, deployment):
    return deployment.contract(w3, "DatasetRegistry")


def sealed(tmp_path: Path, **fields: Any) -> Path:
    body = {"manifest_cid": CID, "merkle_root": ROOT_HASH, "commitments": COMMITMENTS} | fields
    return write_json(tmp_path / "sealed.json", {k: v for k, v in body.items() if v is not None})


def test_register_records_dataset_and_appraisal_hash(capsys, chain_env, registry, report,
                                                     tmp_path, accounts):
    code, out, err = cli(capsys, "dataset", "register", "--commitments-file", sealed(tmp_path),
                         "--appraisal", report, "--network", "local")
    assert (code, err) == (0, "")
    assert registry.functions.datasetCount().call() == 1
    owner, k, locked, _, root, appraisal, cid = registry.functions.getDataset(1).call()
    assert (owner, k, locked, cid) == (accounts[0].address, 4, False, CID)
    assert "0x" + root.hex() == ROOT_HASH
    assert appraisal == keccak(report.read_bytes())
    assert ["0x" + c.hex() for c in registry.functions.commitments(1).call()] == COMMITMENTS
    assert out.startswith("registered dataset 1: tx 0x") and "gas " in out


def test_register_takes_plain_list_and_options(capsys, chain_env, registry, tmp_path):
    plain = write_json(tmp_path / "list.json", COMMITMENTS[:2])
    code, _, err = cli(capsys, "dataset", "register", "--commitments-file", plain,
                       "--manifest-cid", CID, "--merkle-root", ROOT_HASH)
    assert (code, err) == (0, "")
    assert registry.functions.stepCount(1).call() == 2
    assert registry.functions.getDataset(1).call()[5] == b"\x00" * 32  # no appraisal yet


ZERO = "0x" + "00" * 32


@pytest.mark.parametrize(("fields", "options", "message"), [
    ({"commitments": [*COMMITMENTS[:3], ZERO]}, [], "commitment 3 must not be zero"),
    ({"commitments": ["0x1234"]}, [], "commitment 0 must be 0x followed by 64 hex digits"),
    ({"commitments": [COMMITMENTS[0], COMMITMENTS[0]]}, [], "same key commitment"),
    ({"commitments": []}, [], "commitments: List should have at least 1 item"),
    ({"commitments": ["0x" + keccak(b"%d" % i).hex() for i in range(257)]}, [],
     "List should have at most 256 items"),
    ({"manifest_cid": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}, [],
     "is not a base32 CIDv1"),
    ({"manifest_cid": None}, [], "no manifest CID"),
    ({"merkle_root": None}, [], "no Merkle root"),
    ({"merkle_root": ZERO}, [], "merkle_root must not be zero"),
    ({}, ["--manifest-cid", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"],
     "differs from the one in"),
    ({}, ["--appraisal", "sealed.json"], "is not an appraisal report"),
])
def test_register_refuses_bad_input_and_changes_nothing(capsys, chain_env, registry, tmp_path,
                                                        monkeypatch, fields, options, message):
    monkeypatch.chdir(tmp_path)
    path = sealed(tmp_path, **fields)
    code, out, err = cli(capsys, "dataset", "register", "--commitments-file", path, *options)
    assert code == 1 and err.startswith("error: ") and message in err and out == "", err
    assert registry.functions.datasetCount().call() == 0


def test_register_refuses_unreadable_commitments_file(capsys, chain_env, registry, tmp_path):
    for content, message in (("", "not readable JSON"), ('"text"', "is invalid")):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        code, _, err = cli(capsys, "dataset", "register", "--commitments-file", bad)
        assert code == 1 and message in err, err
    code, _, err = cli(capsys, "dataset", "register", "--commitments-file", tmp_path / "no.json")
    assert code == 1 and "does not exist" in err
    assert registry.functions.datasetCount().call() == 0


def test_update_records_new_appraisal(capsys, chain_env, registry, report, tmp_path):
    assert cli(capsys, "dataset", "register", "--commitments-file", sealed(tmp_path))[0] == 0
    code, out, err = cli(capsys, "dataset", "update", "1", "--appraisal", report)
    assert (code, err) == (0, "")
    data = registry.functions.getDataset(1).call()
    assert (data[5], data[6]) == (keccak(report.read_bytes()), CID)
    assert out.startswith("updated dataset 1: tx 0x")


@pytest.mark.parametrize(("args", "message"), [
    (["1"], "nothing to update"),
    (["1", "--manifest-cid", "Qmnotbase32"], "is not a base32 CIDv1"),
    (["7", "--manifest-cid", CID], "DatasetRegistryUnknownDataset(datasetId=7)"),
])
def test_update_refuses_bad_input(capsys, chain_env, registry, tmp_path, args, message):
    assert cli(capsys, "dataset", "register", "--commitments-file", sealed(tmp_path))[0] == 0
    before = registry.functions.getDataset(1).call()
    code, _, err = cli(capsys, "dataset", "update", *args)
    assert code == 1 and message in err, err
    assert registry.functions.getDataset(1).call() == before


def test_update_refuses_dataset_of_someone_else(capsys, chain_env, registry, tmp_path,
                                                accounts):
    accounts[2].transact(registry.functions.register(
        CID, 1, [keccak(b"k")], keccak(b"r"), b"\x00" * 32))
    code, _, err = cli(capsys, "dataset", "update", "1", "--manifest-cid", CID)
    assert code == 1 and "DatasetRegistryNotOwner(datasetId=1" in err, err
