"""The EIP-712 types of usage reports, derived from ``contracts/types/Metering.sol``.

The structs are defined once, in Solidity. This module parses them into the EIP-712
``types`` mapping eth-account signs with, and checks that each ``*_TYPEHASH`` string
in the library is exactly the encodeType of the parsed struct, so the two can never
drift apart silently.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from gpubarter import paths
from oracle.errors import ReportSchemaError

Types = dict[str, list[dict[str, str]]]

_STRUCT = re.compile(r"\bstruct\s+(\w+)\s*\{([^}]*)\}")
_MEMBER = re.compile(r"^\s*([\w.]+(?:\[\d*\])*)\s+(\w+)\s*;\s*$")
_TYPEHASH = re.compile(r"\b(\w+)_TYPEHASH\s*=\s*keccak256\(\s*((?:\"[^\"]*\"\s*)+)\)")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_ELEMENTARY = re.compile(r"^(u?int\d*|bytes\d*|address|bool|string)$")


def metering_source() -> Path:
    return paths.contracts_dir() / "types" / "Metering.sol"


def parse_structs(source: str) -> Types:
    """Every struct in ``source`` as EIP-712 members (library prefixes dropped)."""
    text = _COMMENT.sub("", source)
    types: Types = {}
    for name, body in _STRUCT.findall(text):
        members = []
        for line in filter(str.strip, body.split(";")):
            m = _MEMBER.match(line + ";")
            if not m:
                raise ReportSchemaError(f"cannot read member {line.strip()!r} of struct {name}")
            members.append({"name": m.group(2), "type": m.group(1).split(".")[-1]})
        types[name] = members
    return types


def encode_type(types: Types, primary: str) -> str:
    """EIP-712 encodeType: the primary struct, then referenced structs sorted by name."""
    deps: set[str] = set()

    def walk(name: str) -> None:
        for member in types[name]:
            base = member["type"].split("[")[0]
            if base in types and base not in deps and base != primary:
                deps.add(base)
                walk(base)
            elif base not in types and not _ELEMENTARY.match(base):
                raise ReportSchemaError(f"struct {name} uses unknown type {base}")

    walk(primary)
    return "".join(
        f"{n}(" + ",".join(f"{m['type']} {m['name']}" for m in types[n]) + ")"
        for n in [primary, *sorted(deps)]
    )


def typehash_strings(source: str) -> dict[str, str]:
    """``USAGE_REPORT`` -> the string literal its typehash constant hashes."""
    text = _COMMENT.sub("", source)
    return {
        name: "".join(re.findall(r"\"([^\"]*)\"", lits)) for name, lits in _TYPEHASH.findall(text)
    }


@cache
def metering_types() -> Types:
    """The EIP-712 types of ``UsageReport`` and ``UsageBatch``, checked against the typehashes."""
    path = metering_source()
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportSchemaError(f"cannot read the report definition {path}: {exc}") from None
    types = parse_structs(source)
    declared = typehash_strings(source)
    for primary in ("UsageReport", "UsageBatch"):
        if primary not in types:
            raise ReportSchemaError(f"{path} defines no struct {primary}")
        const = re.sub(r"(?<!^)(?=[A-Z])", "_", primary).upper()
        if declared.get(const) != encode_type(types, primary):
            raise ReportSchemaError(
                f"{const}_TYPEHASH in {path} hashes {declared.get(const)!r}, but struct "
                f"{primary} encodes as {encode_type(types, primary)!r}"
            )
    return {"UsageReport": types["UsageReport"], "UsageBatch": types["UsageBatch"]}
