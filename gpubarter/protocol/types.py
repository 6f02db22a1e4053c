"""Records decoded from the compute contracts (see ``contracts/types/ComputeTypes.sol``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from gpubarter.protocol.units import fmt_cpt, fmt_hours


class Backing(IntEnum):
    STAKE = 0
    DEAL = 1


class JobStatus(IntEnum):
    NONE = 0
    OPENED = 1
    ACKNOWLEDGED = 2
    CLOSING = 3
    SERVED = 4
    CLOSED = 5
    REFUNDED = 6


@dataclass(frozen=True)
class GpuClass:
    class_id: int
    name: str
    collateral_rate: int  # CPT wei per GPU-second
    ack_timeout: int
    penalty_bps: int
    active: bool

    @classmethod
    def decode(cls, class_id: int, name: str, raw: Any) -> GpuClass:
        rate, ack, bps, active = raw
        return cls(class_id, name, int(rate), int(ack), int(bps), bool(active))


@dataclass(frozen=True)
class ProviderInfo:
    address: str
    stake: int
    locked: int
    unbonding: int
    unbonding_end: int
    registered_at: int
    metadata_cid: str

    @property
    def free(self) -> int:
        return self.stake - self.locked

    @property
    def registered(self) -> bool:
        return self.registered_at != 0

    @classmethod
    def decode(cls, address: str, raw: Any, metadata_cid: str) -> ProviderInfo:
        stake, locked, unbonding, unbonding_end, registered_at = raw
        return cls(
            address,
            int(stake),
            int(locked),
            int(unbonding),
            int(unbonding_end),
            int(registered_at),
            metadata_cid,
        )


@dataclass(frozen=True)
class Series:
    series_id: int
    provider: str
    class_id: int
    start: int
    end: int
    minted: int
    burned: int
    delivered: int
    ack_timeout: int
    penalty_bps: int
    backing: Backing
    frozen: bool
    collateral_rate: int
    collateral: int
    deal_id: int

    @property
    def outstanding(self) -> int:
        return self.minted - self.burned

    @classmethod
    def decode(cls, series_id: int, raw: Any) -> Series:
        (
            provider,
            class_id,
            start,
            end,
            minted,
            burned,
            delivered,
            ack_timeout,
            penalty_bps,
            backing,
            frozen,
            rate,
            collateral,
            deal_id,
        ) = raw
        return cls(
            series_id,
            provider,
            int(class_id),
            int(start),
            int(end),
            int(minted),
            int(burned),
            int(delivered),
            int(ack_timeout),
            int(penalty_bps),
            Backing(backing),
            bool(frozen),
            int(rate),
            int(collateral),
            int(deal_id),
        )

    def metadata(self, class_name: str) -> dict[str, Any]:
        """The ERC-1155 metadata JSON ``uri(id)`` serves: name, class, window, provider."""
        return {
            "name": f"{class_name} GPU-seconds, series {self.series_id}",
            "description": (
                f"One unit is one GPU-second of {class_name}, delivered by "
                f"{self.provider} between {self.start} and {self.end} (Unix time)."
            ),
            "decimals": 0,
            "properties": {
                "series_id": self.series_id,
                "provider": self.provider,
                "gpu_class": class_name,
                "class_id": self.class_id,
                "window_start": self.start,
                "window_end": self.end,
                "backing": self.backing.name.lower(),
                "deal_id": self.deal_id,
                "collateral_rate_wei_per_second": str(self.collateral_rate),
            },
        }

    def describe(self) -> dict[str, str]:
        return {
            "provider": self.provider,
            "class": str(self.class_id),
            "window": f"{self.start} .. {self.end}",
            "backing": self.backing.name.lower()
            + (f" (deal {self.deal_id})" if self.backing is Backing.DEAL else ""),
            "minted": fmt_hours(self.minted),
            "outstanding": fmt_hours(self.outstanding),
            "delivered": fmt_hours(self.delivered),
            "collateral": (
                f"{fmt_cpt(self.collateral)} locked, "
                f"{fmt_cpt(self.collateral_rate * 3600)} per GPU-h"
            ),
            "frozen": "yes" if self.frozen else "no",
        }


@dataclass(frozen=True)
class Job:
    job_id: int
    holder: str
    series_id: int
    status: JobStatus
    max_seconds: int
    used_seconds: int
    ack_deadline: int
    deadline: int
    #: Usage lands until then: the deadline plus the settlement grace the job was opened with; when
    #: closing, its settlement time.
    cutoff: int = 0

    @property
    def unused(self) -> int:
        return self.max_seconds - self.used_seconds

    @classmethod
    def decode(cls, job_id: int, raw: Any) -> Job:
        holder, series_id, status, max_s, used, ack_deadline, deadline, cutoff = raw
        return cls(
            job_id,
            holder,
            int(series_id),
            JobStatus(status),
            int(max_s),
            int(used),
            int(ack_deadline),
            int(deadline),
            int(cutoff),
        )
