"""Usage reports: the EIP-712 message, its hashes, and signing a batch.

The domain binds every signature to one chain id and one verifying contract (the
MeteringOracle): a report signed for another chain or contract never verifies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from gpubarter.chain import eip712
from oracle.errors import OracleError
from oracle.schema import metering_types

DOMAIN_NAME = "GPU Barter MeteringOracle"
DOMAIN_VERSION = "1"
MAX_BATCH = 500
UINT64 = 2**64 - 1
UINT32 = 2**32 - 1


def gpu_id(uuid: str) -> bytes:
    """The on-chain identity of a GPU: keccak256 of its NVML UUID string."""
    return keccak(text=uuid)


@dataclass(frozen=True)
class UsageReport:
    job_id: int
    gpu_uuid: str
    gpu_model: str
    allocated_ms: int
    sm_active_ms: int
    energy_mj: int
    samples: int
    period_end: int

    def __post_init__(self) -> None:
        for name, value, top in (
            ("job id", self.job_id, 2**256 - 1),
            ("allocated GPU-ms", self.allocated_ms, UINT64),
            ("SM-active GPU-ms", self.sm_active_ms, UINT64),
            ("energy mJ", self.energy_mj, UINT64),
            ("sample count", self.samples, UINT32),
            ("period end", self.period_end, UINT64),
        ):
            if not 0 <= value <= top:
                raise OracleError(f"{name} {value} is out of range 0..{top}")
        if self.sm_active_ms > self.allocated_ms:
            raise OracleError(
                f"SM-active GPU-ms {self.sm_active_ms} exceeds allocated GPU-ms {self.allocated_ms}"
            )

    def message(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "gpuId": gpu_id(self.gpu_uuid),
            "gpuModel": self.gpu_model,
            "allocatedGpuMs": self.allocated_ms,
            "smActiveGpuMs": self.sm_active_ms,
            "energyMj": self.energy_mj,
            "sampleCount": self.samples,
            "periodEnd": self.period_end,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple of ``Metering.UsageReport`` (for contract calls)."""
        return tuple(self.message().values())

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "gpu_id": "0x" + gpu_id(self.gpu_uuid).hex()}


def domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    if chain_id <= 0:
        raise OracleError(f"chain id must be positive, not {chain_id}")
    if not Web3.is_address(verifying_contract):
        raise OracleError(f"{verifying_contract!r} is not a contract address")
    return eip712.domain(
        DOMAIN_NAME, DOMAIN_VERSION, chain_id, Web3.to_checksum_address(verifying_contract)
    )


def _full(dom: dict[str, Any], primary: str, message: dict[str, Any]) -> dict[str, Any]:
    types = metering_types()
    if primary == "UsageReport":
        types = {"UsageReport": types["UsageReport"]}
    return {
        "types": {**eip712._domain_types(dom), **types},
        "domain": dom,
        "primaryType": primary,
        "message": message,
    }


def report_struct_hash(report: UsageReport) -> bytes:
    """``Metering.hash(report)``: the EIP-712 struct hash of one report."""
    dom = domain(1, "0x" + "00" * 20)
    return encode_typed_data(full_message=_full(dom, "UsageReport", report.message())).body


def batch_digest(dom: dict[str, Any], reports: list[UsageReport]) -> bytes:
    """The EIP-712 digest the signers of a batch sign."""
    signable = encode_typed_data(full_message=_full(dom, "UsageBatch", _batch(reports)))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def batch_struct_hash(reports: list[UsageReport]) -> bytes:
    return encode_typed_data(
        full_message=_full(domain(1, "0x" + "00" * 20), "UsageBatch", _batch(reports))
    ).body


def _batch(reports: list[UsageReport]) -> dict[str, Any]:
    if not 1 <= len(reports) <= MAX_BATCH:
        raise OracleError(f"a batch holds 1 to {MAX_BATCH} reports, not {len(reports)}")
    return {"reports": [r.message() for r in reports]}


def sign_batch(account: LocalAccount, dom: dict[str, Any], reports: list[UsageReport]) -> bytes:
    """A 65-byte signature (r || s || v) over the batch; the key never leaves ``account``."""
    v, r, s = eip712.sign(account, dom, metering_types(), "UsageBatch", _batch(reports))
    return r + s + bytes([v])
