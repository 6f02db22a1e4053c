"""The EIP-712 types of usage reports, derived from ``contracts/types/Metering.sol``.

The structs are defined once, in Solidity; :mod:`gpubarter.chain.typed_structs` parses
them and checks each ``*_TYPEHASH`` string against its struct. This module binds that
parser to ``Metering.sol`` and the oracle's :class:`ReportSchemaError`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gpubarter import paths
from gpubarter.chain import typed_structs
from gpubarter.chain.typed_structs import Types, typehash_strings
from oracle.errors import ReportSchemaError

__all__ = ["Types", "encode_type", "metering_source", "metering_types", "parse_structs", "typehash_strings"]


def metering_source() -> Path:
    return paths.contracts_dir() / "types" / "Metering.sol"


def parse_structs(source: str) -> Types:
    """Every struct in ``source`` as EIP-712 members (library prefixes dropped)."""
    return typed_structs.parse_structs(source, ReportSchemaError)


def encode_type(types: Types, primary: str) -> str:
    """EIP-712 encodeType: the primary struct, then referenced structs sorted by name."""
    return typed_structs.encode_type(types, primary, ReportSchemaError)


@cache
def metering_types() -> Types:
    """The EIP-712 types of ``UsageReport`` and ``UsageBatch``, checked against the typehashes."""
    return typed_structs.load_types(metering_source(), ("UsageReport", "UsageBatch"), ReportSchemaError)
