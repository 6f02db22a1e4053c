"""EIP-712 types derived from Solidity structs: one definition, in Solidity.

``contracts/types/*.sol`` libraries define the structs a party signs and a ``*_TYPEHASH``
string literal per signed struct. :func:`load_types` parses the structs into the EIP-712
``types`` mapping eth-account signs with and checks that each typehash string is exactly
the encodeType of its parsed struct, so the Solidity and Python sides never drift apart
silently. Used by the oracle (usage reports) and the exchange (orders).
"""

from __future__ import annotations

import re
from pathlib import Path

from gpubarter.errors import GpuBarterError

Types = dict[str, list[dict[str, str]]]

_STRUCT = re.compile(r"\bstruct\s+(\w+)\s*\{([^}]*)\}")
_MEMBER = re.compile(r"^\s*([\w.]+(?:\[\d*\])*)\s+(\w+)\s*;\s*$")
_TYPEHASH = re.compile(r"\b(\w+)_TYPEHASH\s*=\s*keccak256\(\s*((?:\"[^\"]*\"\s*)+)\)")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_ELEMENTARY = re.compile(r"^(u?int\d*|bytes\d*|address|bool|string)$")


class StructSchemaError(GpuBarterError):
    """A Solidity struct definition could not be read, or disagrees with its typehash."""


def parse_structs(source: str, error: type[Exception] = StructSchemaError) -> Types:
    """Every struct in ``source`` as EIP-712 members (library prefixes dropped)."""
    text = _COMMENT.sub("", source)
    types: Types = {}
    for name, body in _STRUCT.findall(text):
        members = []
        for line in filter(str.strip, body.split(";")):
            m = _MEMBER.match(line + ";")
            if not m:
                raise error(f"cannot read member {line.strip()!r} of struct {name}")
            members.append({"name": m.group(2), "type": m.group(1).split(".")[-1]})
        types[name] = members
    return types


def encode_type(types: Types, primary: str, error: type[Exception] = StructSchemaError) -> str:
    """EIP-712 encodeType: the primary struct, then referenced structs sorted by name."""
    deps: set[str] = set()

    def walk(name: str) -> None:
        for member in types[name]:
            base = member["type"].split("[")[0]
            if base in types and base not in deps and base != primary:
                deps.add(base)
                walk(base)
            elif base not in types and not _ELEMENTARY.match(base):
                raise error(f"struct {name} uses unknown type {base}")

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


def load_types(path: Path, primaries: tuple[str, ...], error: type[Exception] = StructSchemaError) -> Types:
    """The EIP-712 types of ``primaries`` (and the structs they use) defined in ``path``.

    Each primary ``FooBar`` must have a ``FOO_BAR_TYPEHASH`` constant hashing its encodeType.
    """
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read the struct definitions {path}: {exc}") from None
    types = parse_structs(source, error)
    declared = typehash_strings(source)
    out: Types = {}
    for primary in primaries:
        if primary not in types:
            raise error(f"{path} defines no struct {primary}")
        const = re.sub(r"(?<!^)(?=[A-Z])", "_", primary).upper()
        encoded = encode_type(types, primary, error)
        if declared.get(const) != encoded:
            raise error(
                f"{const}_TYPEHASH in {path} hashes {declared.get(const)!r}, but struct "
                f"{primary} encodes as {encoded!r}"
            )
        out[primary] = types[primary]
        for name in re.findall(r"\)(\w+)\(", encoded):
            out[name] = types[name]
    return out
