"""``gpubarter dataset appraise`` and ``gpubarter dataset register``.

``appraise`` measures a dataset and values it in GPU-hours of a GPU class; it writes
report.json (canonical: its keccak256 is the appraisal hash), summary.txt and chart.png.
``register`` records a sealed dataset in the DatasetRegistry: manifest CID, one key
commitment per step, the plaintext Merkle root and the appraisal hash.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cli.commands.dataset import dataset_app
from cli.commands.output import console, show_tx
from gpubarter.errors import ConfigError
from gpubarter.jsonfile import read_json

MAX_STEPS = 256  # DatasetRegistry.MAX_STEPS
ZERO_HASH = "0x" + "00" * 32
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_BASE32_CID = re.compile(r"^b[a-z2-7]{20,127}$")


def _bytes32(value: str, what: str) -> str:
    if not isinstance(value, str) or not _BYTES32.match(value):
        raise ValueError(f"{what} must be 0x followed by 64 hex digits, got {value!r}")
    if int(value, 16) == 0:
        raise ValueError(f"{what} must not be zero")
    return value.lower()


def check_cid(cid: str) -> str:
    """A CIDv1 in base32 text (``bafy...``, ``bafkrei...``), as the vault writes them."""
    if not _BASE32_CID.match(cid):
        raise ValueError(f"manifest CID {cid!r} is not a base32 CIDv1 (it starts with 'b' and "
                         "uses a-z and 2-7, like bafkrei...)")
    body = cid[1:].upper()
    raw = base64.b32decode(body + "=" * (-len(body) % 8))
    if raw[0] != 1:
        raise ValueError(f"manifest CID {cid!r} is not CID version 1")
    return cid


class CommitmentsFile(BaseModel):
    """What ``gpubarter dataset seal`` hands over for registration.

    Either a JSON list of ``0x`` commitments, or an object with ``commitments`` and
    optionally ``merkle_root`` and ``manifest_cid``.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    commitments: list[str] = Field(min_length=1, max_length=MAX_STEPS)
    merkle_root: str | None = None
    manifest_cid: str | None = None

    @field_validator("commitments")
    @classmethod
    def _each(cls, values: list[str]) -> list[str]:
        out = [_bytes32(v, f"commitment {i}") for i, v in enumerate(values)]
        if len(set(out)) != len(out):
            raise ValueError("two steps have the same key commitment (a key reused across "
                             "shards); reseal the dataset")
        return out

    @field_validator("merkle_root")
    @classmethod
    def _root(cls, value: str | None) -> str | None:
        return None if value is None else _bytes32(value, "merkle_root")

    @field_validator("manifest_cid")
    @classmethod
    def _cid(cls, value: str | None) -> str | None:
        return None if value is None else check_cid(value)

    @model_validator(mode="before")
    @classmethod
    def _plain_list(cls, raw: Any) -> Any:
        return {"commitments": raw} if isinstance(raw, list) else raw


def load_commitments(path: Path) -> CommitmentsFile:
    from backend.valuation.inputs import validation_message

    raw = read_json(path, what="commitments file")
    try:
        return CommitmentsFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"commitments file {path} is invalid: "
                          f"{validation_message(exc)}") from None


class Registration(BaseModel):
    """Validated arguments of ``DatasetRegistry.register``."""

    model_config = ConfigDict(frozen=True)

    manifest_cid: Annotated[str, Field(max_length=128)]
    commitments: list[str]
    merkle_root: str
    appraisal_hash: str = ZERO_HASH

    @field_validator("manifest_cid")
    @classmethod
    def _cid(cls, value: str) -> str:
        return check_cid(value)

    @field_validator("merkle_root")
    @classmethod
    def _root(cls, value: str) -> str:
        return _bytes32(value, "merkle root")

    def args(self) -> tuple[Any, ...]:
        return (self.manifest_cid, len(self.commitments),
                [bytes.fromhex(c[2:]) for c in self.commitments],
                bytes.fromhex(self.merkle_root[2:]), bytes.fromhex(self.appraisal_hash[2:]))


def build_registration(*, manifest_cid: str | None, commitments_file: Path,
                       merkle_root: str | None, appraisal: Path | None) -> Registration:
    """Combine the options and files into registration arguments, or say what is wrong."""
    from backend.valuation import appraisal_hash, load_report
    from backend.valuation.inputs import validation_message

    sealed = load_commitments(commitments_file)
    cid = manifest_cid or sealed.manifest_cid
    root = merkle_root or sealed.merkle_root
    if cid is None:
        raise ConfigError("no manifest CID: pass --manifest-cid or put manifest_cid in the "
                          "commitments file")
    if root is None:
        raise ConfigError("no Merkle root: pass --merkle-root or put merkle_root in the "
                          "commitments file")
    for name, given, in_file in (("manifest CID", manifest_cid, sealed.manifest_cid),
                                 ("Merkle root", merkle_root, sealed.merkle_root)):
        if given and in_file and given.lower() != in_file.lower():
            raise ConfigError(f"the {name} given ({given}) differs from the one in "
                              f"{commitments_file} ({in_file})")
    report_hash = appraisal_hash(load_report(appraisal)) if appraisal else ZERO_HASH
    try:
        return Registration(manifest_cid=cid, commitments=sealed.commitments, merkle_root=root,
                            appraisal_hash=report_hash)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc)) from None


@dataset_app.command()
def appraise(
    path: Annotated[Path, typer.Argument(
        help="The dataset: a CSV, TSV, JSONL or Parquet file, or a folder of such files (one "
             "format; profiled per file and combined).")],
    gpu_class: Annotated[str, typer.Option("--class", help="GPU class to value in, e.g. "
                                           "nvidia-h100-80gb.")],
    inputs: Annotated[Path | None, typer.Option(
        "--inputs", help="inputs.json: pricing, cost, market, income, with_and_without, "
        "task_specific, dimensional (label/timestamp columns), model_weights, as_of.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.json, summary.txt and "
                                      "chart.png.")] = Path("appraisal"),
    fmt: Annotated[str | None, typer.Option("--format", help="csv, tsv, jsonl or parquet "
                                            "(default: from the extension).")] = None,
) -> None:
    """Appraise a dataset in GPU-hours of a GPU class (low / mid / high, with reasons)."""
    from backend.valuation import appraise as run_appraisal
    from backend.valuation import load_inputs, summary, write_outputs

    report = run_appraisal(path, gpu_class, load_inputs(inputs), fmt=fmt)
    written = write_outputs(report, out)
    console.print(summary(report), end="")
    console.print(f"\nreport: {written.json_path}\nsummary: {written.summary_path}\n"
                  f"chart: {written.chart_path}\nappraisal hash: {written.appraisal_hash}")


@dataset_app.command()
def register(
    commitments_file: Annotated[Path, typer.Option(
        "--commitments-file", help="JSON from the vault: a list of 0x key commitments, or an "
        "object with commitments, merkle_root, manifest_cid.")],
    manifest_cid: Annotated[str | None, typer.Option(
        "--manifest-cid", help="CIDv1 of the manifest (default: from the commitments file).")
    ] = None,
    merkle_root: Annotated[str | None, typer.Option(
        "--merkle-root", help="0x plaintext Merkle root (default: from the commitments file).")
    ] = None,
    appraisal: Annotated[Path | None, typer.Option(
        "--appraisal", help="report.json from `dataset appraise`; its hash is recorded "
        "(default: none yet).")] = None,
    network: Annotated[str, typer.Option("--network", "-n", help="A network from "
                                         "networks.toml.")] = "local",
) -> None:
    """Register a sealed dataset in the DatasetRegistry; you become its owner."""
    from gpubarter.session import ChainSession

    reg = build_registration(manifest_cid=manifest_cid, commitments_file=commitments_file,
                             merkle_root=merkle_root, appraisal=appraisal)
    s = ChainSession.open(network)
    registry = s.contract("DatasetRegistry")
    result = s.sender.transact(registry.functions.register(*reg.args()))
    (event,) = registry.events.DatasetRegistered().process_receipt(result.receipt)
    show_tx(f"registered dataset {event.args.datasetId}", result)
    console.print(f"owner {s.sender.address}, K = {len(reg.commitments)}, manifest "
                  f"{reg.manifest_cid}, appraisal {reg.appraisal_hash}")


@dataset_app.command()
def update(
    dataset_id: Annotated[int, typer.Argument(help="The dataset's id in the registry.", min=1)],
    manifest_cid: Annotated[str | None, typer.Option(
        "--manifest-cid", help="A new manifest CID (default: keep the current one).")] = None,
    appraisal: Annotated[Path | None, typer.Option(
        "--appraisal", help="report.json of a new appraisal (default: keep the current hash).")
    ] = None,
    network: Annotated[str, typer.Option("--network", "-n", help="A network from "
                                         "networks.toml.")] = "local",
) -> None:
    """Record a new appraisal hash or manifest CID for a dataset you own."""
    from backend.valuation import appraisal_hash, load_report
    from gpubarter.session import ChainSession

    if manifest_cid is None and appraisal is None:
        raise ConfigError("nothing to update: pass --manifest-cid and/or --appraisal")
    if manifest_cid is not None:
        try:
            check_cid(manifest_cid)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    new_hash = appraisal_hash(load_report(appraisal)) if appraisal else None
    s = ChainSession.open(network)
    registry = s.contract("DatasetRegistry")
    current = s.sender.call(registry.functions.getDataset(dataset_id))
    cid = manifest_cid or current[6]
    digest = bytes.fromhex(new_hash[2:]) if new_hash else current[5]
    show_tx(f"updated dataset {dataset_id}",
            s.sender.transact(registry.functions.updateMetadata(dataset_id, cid, digest)))
    console.print(f"manifest {cid}, appraisal 0x{digest.hex()}")
