"""Decode raw logs of the protocol's contracts into (contract, event, args)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode
from eth_utils import keccak

from gpubarter.chain.addresses import checksum
from gpubarter.chain.revert import abi_type
from gpubarter.deployment_record import Deployment
from gpubarter.toolchain.compiler import load_artifact


@dataclass(frozen=True)
class EventSpec:
    contract: str
    name: str
    indexed: tuple[tuple[str, str, bool], ...]  # (name, type, hashed: dynamic types are topics' hashes)
    plain_names: tuple[str, ...]
    plain_types: tuple[str, ...]

    @classmethod
    def from_abi(cls, contract: str, item: dict[str, Any]) -> EventSpec:
        indexed = []
        for i in item["inputs"]:
            if i.get("indexed"):
                typ = abi_type(i)
                hashed = typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("(")
                indexed.append((i["name"], typ, hashed))
        plain = [i for i in item["inputs"] if not i.get("indexed")]
        return cls(contract, item["name"], tuple(indexed), tuple(i["name"] for i in plain),
                   tuple(abi_type(i) for i in plain))


def _json_safe(value: Any, typ: str) -> Any:
    if typ == "address":
        return checksum(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        inner = typ[: typ.rindex("[")] if typ.endswith("]") else typ
        return [_json_safe(v, inner) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)  # JSON numbers beyond 2^53 lose precision in most clients
    return value


@lru_cache(maxsize=64)
def _specs(contract: str) -> dict[str, EventSpec]:
    """Topic 0 (hex) -> event spec, for every event of ``contract``'s ABI."""
    specs: dict[str, EventSpec] = {}
    for item in load_artifact(contract)["abi"]:
        if item.get("type") == "event" and not item.get("anonymous"):
            sig = f"{item['name']}({','.join(abi_type(i) for i in item['inputs'])})"
            specs["0x" + keccak(text=sig).hex()] = EventSpec.from_abi(contract, item)
    return specs


class LogDecoder:
    """Topic-0 and address -> event spec, for every contract in a deployment."""

    def __init__(self, deployment: Deployment) -> None:
        self.by_address: dict[str, dict[str, EventSpec]] = {}  # lower-case address -> topic0 hex
        for name, address in deployment.contracts.items():
            self.watch(address, name)

    def watch(self, address: str, contract: str) -> bool:
        """Decode the events of ``contract`` at ``address`` too (e.g. a cooperative a factory created);
        False when it was already watched."""
        if address.lower() in self.by_address:
            return False
        self.by_address[address.lower()] = _specs(contract)
        return True

    @property
    def addresses(self) -> list[str]:
        return [checksum(a) for a in self.by_address]

    def decode(self, log: dict[str, Any]) -> tuple[EventSpec, dict[str, Any]] | None:
        """Decode a raw JSON-RPC log (hex strings, as ``eth_getLogs`` returns it)."""
        specs = self.by_address.get(log["address"].lower())
        topics = log["topics"]
        if not specs or not topics:
            return None
        spec = specs.get(topics[0].lower())
        if spec is None or len(topics) != len(spec.indexed) + 1:
            return None
        args: dict[str, Any] = {}
        for (name, typ, hashed), topic in zip(spec.indexed, topics[1:], strict=True):
            if hashed:
                args[name] = topic.lower()
            elif typ == "address":
                args[name] = checksum("0x" + topic[-40:])
            else:
                args[name] = _json_safe(decode([typ], bytes.fromhex(topic[2:]))[0], typ)
        if spec.plain_types:
            values = decode(list(spec.plain_types), bytes.fromhex(log["data"][2:]))
            for name, typ, value in zip(spec.plain_names, spec.plain_types, values, strict=True):
                args[name] = _json_safe(value, typ)
        return spec, args
