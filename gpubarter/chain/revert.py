"""Decode revert data into readable reasons, custom errors included.

Custom errors are looked up by selector in the ABIs of every compiled contract, so
``0x4c7a...`` reads as ``ComputeTokenFaucetCooldown(account=0xf39F..., availableAt=1732...)``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from gpubarter.toolchain.compiler import artifacts_dir

_PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})"


def abi_type(param: dict[str, Any]) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + t[len("tuple"):]
    return t


@cache
def error_registry() -> dict[bytes, dict[str, Any]]:
    """Selector -> error ABI item, from every artifact under ``build/contracts``."""
    registry: dict[bytes, dict[str, Any]] = {}
    for path in sorted(artifacts_dir().glob("*.json")):
        for item in json.loads(path.read_text()).get("abi", []):
            if item.get("type") == "error":
                registry[keccak(text=_signature(item))[:4]] = item
    return registry


def _fmt(value: Any, typ: str) -> str:
    if typ == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def decode_revert(data: str | bytes | None) -> str:
    """A readable reason for revert ``data`` (hex string or bytes)."""
    if data is None:
        return "reverted without a reason"
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
    if len(raw) < 4:
        return "reverted without a reason"
    selector, body = raw[:4], raw[4:]
    try:
        if selector == bytes.fromhex("08c379a0"):
            return decode(["string"], body)[0]
        if selector == bytes.fromhex("4e487b71"):
            code = decode(["uint256"], body)[0]
            return f"panic 0x{code:02x} ({_PANIC_CODES.get(code, 'unknown panic')})"
        item = error_registry().get(selector)
        if item is None:
            return f"unknown custom error 0x{raw.hex()}"
        types = [abi_type(i) for i in item["inputs"]]
        values = decode(types, body)
        args = ", ".join(f"{i['name'] or f'arg{n}'}={_fmt(v, t)}"
                         for n, (i, v, t) in enumerate(zip(item["inputs"], values, types, strict=True)))
        return f"{item['name']}({args})"
    except Exception:  # malformed revert data: show it raw rather than fail
        return f"undecodable revert data 0x{raw.hex()}"


def error_name(reason: str) -> str:
    """The error's name from a decoded reason (``Foo(a=1)`` -> ``Foo``)."""
    return reason.split("(", 1)[0]
