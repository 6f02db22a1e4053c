"""Decode raw logs of the protocol's contracts into (contract, event, args)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from gpubarter.chain.contracts import Deployment
from gpubarter.chain.revert import abi_type
from gpubarter.toolchain.compiler import load_artifact


@dataclass(frozen=True)
class EventSpec:
    contract: str
    name: str
    inputs: tuple[dict[str, Any], ...]


def _json_safe(value: Any, typ: str) -> Any:
    if typ == "address":
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        inner = typ[: typ.rindex("[")] if typ.endswith("]") else typ
        return [_json_safe(v, inner) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)  # JSON numbers beyond 2^53 lose precision in most clients
    return value


class LogDecoder:
    """Topic-0 and address -> event spec, for every contract in a deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.by_address: dict[str, dict[bytes, EventSpec]] = {}
        for name, address in deployment.contracts.items():
            specs: dict[bytes, EventSpec] = {}
            for item in load_artifact(name)["abi"]:
                if item.get("type") == "event" and not item.get("anonymous"):
                    sig = f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})"
                    specs[keccak(text=sig)] = EventSpec(name, item["name"], tuple(item["inputs"]))
            self.by_address[to_checksum_address(address)] = specs

    @property
    def addresses(self) -> list[str]:
        return list(self.by_address)

    def decode(self, log: Any) -> tuple[EventSpec, dict[str, Any]] | None:
        specs = self.by_address.get(to_checksum_address(log["address"]))
        topics = log["topics"]
        if not specs or not topics:
            return None
        spec = specs.get(bytes(topics[0]))
        if spec is None:
            return None
        indexed = [i for i in spec.inputs if i.get("indexed")]
        plain = [i for i in spec.inputs if not i.get("indexed")]
        args: dict[str, Any] = {}
        for inp, topic in zip(indexed, topics[1:], strict=True):
            typ = abi_type(inp)
            dynamic = typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("(")
            args[inp["name"]] = "0x" + bytes(topic).hex() if dynamic else _json_safe(
                decode([typ], bytes(topic))[0], typ)
        types = [abi_type(i) for i in plain]
        for inp, typ, value in zip(plain, types, decode(types, bytes(log["data"])), strict=True):
            args[inp["name"]] = _json_safe(value, typ)
        return spec, args
