"""Units at the edge of the protocol.

Users think in GPU-hours and whole CPT; contracts store GPU-seconds and CPT wei. These
functions convert both ways and refuse what cannot be represented exactly.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from gpubarter.errors import GpuBarterError

WAD = 10**18
SECONDS_PER_HOUR = 3_600
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1


class InvalidAmount(GpuBarterError):
    """An amount the user typed is not a positive number the protocol can store."""


def _positive_decimal(text: str | int | Decimal, what: str) -> Decimal:
    try:
        value = Decimal(str(text).strip().replace("_", ""))
    except InvalidOperation:
        raise InvalidAmount(f"{text!r} is not a number of {what}") from None
    if not value.is_finite() or value <= 0:
        raise InvalidAmount(f"{what} must be a positive number, got {text!r}")
    return value


def hours_to_seconds(text: str | int | Decimal) -> int:
    """GPU-hours (decimals allowed, whole seconds) -> GPU-seconds; at most 2^64 - 1."""
    seconds = _positive_decimal(text, "GPU-hours") * SECONDS_PER_HOUR
    if seconds != seconds.to_integral_value():
        raise InvalidAmount(f"{text} GPU-hours is not a whole number of GPU-seconds")
    if seconds > UINT64_MAX:
        raise InvalidAmount(
            f"{text} GPU-hours is more than a series can hold (2^64 - 1 GPU-seconds)"
        )
    return int(seconds)


def seconds_to_hours(seconds: int) -> Decimal:
    return Decimal(seconds) / SECONDS_PER_HOUR


def fmt_hours(seconds: int) -> str:
    """``3.5 GPU-h (12,600 GPU-s)``."""
    hours = f"{seconds_to_hours(seconds):,.6f}".rstrip("0").rstrip(".")
    return f"{hours} GPU-h ({seconds:,} GPU-s)"


def cpt_to_wei(text: str | int | Decimal) -> int:
    """CPT (whole tokens, decimals allowed down to wei) -> CPT wei."""
    wei = _positive_decimal(text, "CPT") * WAD
    if wei != wei.to_integral_value():
        raise InvalidAmount(f"{text} CPT has more than 18 decimals")
    if wei > UINT256_MAX:
        raise InvalidAmount(f"{text} CPT is too large")
    return int(wei)


def fmt_cpt(wei: int) -> str:
    return f"{Decimal(wei) / WAD:,.6f}".rstrip("0").rstrip(".") + " CPT"
