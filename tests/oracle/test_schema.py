"""The usage report is defined once, in Solidity; Python derives the same EIP-712 hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from gpubarter.chain.accounts import dev_account
from gpubarter.chain.contracts import deploy_contract
from oracle import reports as rep
from oracle import schema
from oracle.errors import OracleError, ReportSchemaError

REPORTS = [
    rep.UsageReport(
        7,
        "GPU-5a1c0000-1111-2222-3333-444455556666",
        "NVIDIA H100 80GB HBM3",
        3_600_000,
        2_700_000,
        1_234_567_890,
        3_600,
        1_795_000_000,
    ),
    rep.UsageReport(
        2**256 - 1,
        "GPU-simulated-0001-0000-0000-000000000000",
        "NVIDIA H100 80GB HBM3 (simulated)",
        2**64 - 1,
        0,
        0,
        2**32 - 1,
        2**64 - 1,
    ),
]


@pytest.fixture(scope="module")
def harness(accounts):
    contract, _ = deploy_contract(accounts[0], "MeteringTypesHarness")
    return contract


def test_python_typehashes_equal_the_solidity_constants(harness) -> None:
    types = schema.metering_types()
    assert (
        keccak(text=schema.encode_type(types, "UsageReport"))
        == harness.functions.usageReportTypehash().call()
    )
    assert (
        keccak(text=schema.encode_type(types, "UsageBatch"))
        == harness.functions.usageBatchTypehash().call()
    )


def test_python_struct_hashes_equal_the_solidity_library(harness) -> None:
    for r in REPORTS:
        assert rep.report_struct_hash(r) == harness.functions.hashReport(r.as_tuple()).call()
    tuples = [r.as_tuple() for r in REPORTS]
    assert rep.batch_struct_hash(REPORTS) == harness.functions.hashBatch(tuples).call()
    assert rep.batch_struct_hash(REPORTS) == harness.functions.hashBatchCalldata(tuples).call()


def test_a_signed_batch_recovers_to_the_node_and_is_bound_to_chain_and_contract() -> None:
    node = dev_account(3)
    dom = rep.domain(31337, "0x" + "11" * 20)
    sig = rep.sign_batch(node, dom, REPORTS)
    digest = rep.batch_digest(dom, REPORTS)
    assert Account._recover_hash(digest, signature=sig) == node.address
    for other in (rep.domain(1, "0x" + "11" * 20), rep.domain(31337, "0x" + "22" * 20)):
        assert (
            Account._recover_hash(rep.batch_digest(other, REPORTS), signature=sig) != node.address
        )


def test_the_parser_rejects_a_typehash_that_disagrees_with_its_struct(
    tmp_path: Path, monkeypatch
) -> None:
    source = schema.metering_source().read_text()
    drifted = source.replace("uint64 periodEnd; //", "uint32 periodEnd; //")
    assert drifted != source
    fake = tmp_path / "types" / "Metering.sol"
    fake.parent.mkdir()
    fake.write_text(drifted)
    monkeypatch.setattr(schema, "metering_source", lambda: fake)
    schema.metering_types.cache_clear()
    try:
        with pytest.raises(ReportSchemaError, match="USAGE_REPORT_TYPEHASH"):
            schema.metering_types()
    finally:
        schema.metering_types.cache_clear()


def test_encode_type_refuses_unknown_member_types() -> None:
    types = schema.parse_structs("struct A { Missing x; }")
    with pytest.raises(ReportSchemaError, match="unknown type Missing"):
        schema.encode_type(types, "A")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"job_id": -1},
        {"allocated_ms": 2**64},
        {"samples": 2**32},
        {"sm_active_ms": 10, "allocated_ms": 5},
    ],
)
def test_out_of_range_reports_are_refused(kwargs) -> None:
    base = {
        "job_id": 1,
        "gpu_uuid": "GPU-x",
        "gpu_model": "m",
        "allocated_ms": 10,
        "sm_active_ms": 0,
        "energy_mj": 0,
        "samples": 1,
        "period_end": 1,
    }
    with pytest.raises(OracleError):
        rep.UsageReport(**{**base, **kwargs})


@pytest.mark.parametrize("n", [0, rep.MAX_BATCH + 1])
def test_batches_outside_1_to_max_are_refused(n: int) -> None:
    dom = rep.domain(31337, "0x" + "11" * 20)
    with pytest.raises(OracleError, match="batch holds"):
        rep.sign_batch(dev_account(3), dom, [REPORTS[0]] * n)


@pytest.mark.parametrize(("chain_id", "contract"), [(0, "0x" + "11" * 20), (1, "0x1234")])
def test_bad_domains_are_refused(chain_id: int, contract: str) -> None:
    with pytest.raises(OracleError):
        rep.domain(chain_id, contract)
