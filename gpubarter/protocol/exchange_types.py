"""The exchange's signed order: EIP-712 types derived from ``contracts/types/ExchangeTypes.sol``.

Also the price rule, mirrored from ``ExchangeTypes.cost`` (tests prove both agree).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_utils import keccak

from gpubarter import paths
from gpubarter.chain import eip712
from gpubarter.chain.addresses import checksum
from gpubarter.chain.typed_structs import Types, encode_type, load_types

BUY, SELL = 0, 1
SECONDS_PER_HOUR = 3_600
UINT64, UINT256 = 2**64 - 1, 2**256 - 1
ZERO = "0x" + "00" * 20


@cache
def order_types() -> Types:
    """The EIP-712 types of ``Order``, checked against ``ORDER_TYPEHASH``."""
    return load_types(paths.contracts_dir() / "types" / "ExchangeTypes.sol", ("Order",))


@dataclass(frozen=True)
class Order:
    """A maker's offer: ``amount`` GPU-seconds of ``series_id`` at ``price_per_hour`` CPT wei per GPU-hour."""

    maker: str
    side: int
    series_id: int
    amount: int
    price_per_hour: int
    expiry: int
    epoch: int
    salt: int

    def message(self) -> dict[str, Any]:
        return {"maker": self.maker, "side": self.side, "seriesId": self.series_id, "amount": self.amount,
                "pricePerHour": self.price_per_hour, "expiry": self.expiry, "epoch": self.epoch,
                "salt": self.salt}

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple of ``ExchangeTypes.Order`` (struct member order)."""
        m = self.message()
        return tuple(m[member["name"]] for member in order_types()["Order"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, m: dict[str, Any]) -> Order:
        return cls(m["maker"], int(m["side"]), int(m["seriesId"]), int(m["amount"]),
                   int(m["pricePerHour"]), int(m["expiry"]), int(m["epoch"]), int(m["salt"]))


def _typed(dom: dict[str, Any], order: Order) -> dict[str, Any]:
    return eip712.typed_data(dom, order_types(), "Order", order.message())


def sign_order(account: LocalAccount, dom: dict[str, Any], order: Order) -> bytes:
    """The maker's 65-byte signature (r‖s‖v) of ``order`` under the exchange's domain ``dom``."""
    signed = Account.sign_typed_data(account.key, full_message=_typed(dom, order))
    return bytes(signed.signature)


def compact(signature: bytes) -> tuple[bytes, bytes]:
    """EIP-2098 ``(r, vs)`` of a 65-byte ``r‖s‖v`` signature (what the contract takes)."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r, ((v - 27) << 255 | s).to_bytes(32, "big")


def domain_separator(dom: dict[str, Any]) -> bytes:
    return bytes(encode_typed_data(full_message=_typed(dom, Order(ZERO, 0, 0, 0, 0, 0, 0, 0))).header)


@cache
def _order_typehash() -> bytes:
    return keccak(text=encode_type(order_types(), "Order"))


def order_digest(dom: dict[str, Any], order: Order, separator: bytes | None = None) -> bytes:
    """The EIP-712 digest the contract's ``hashOrder`` returns (the order's id).

    Every member of ``Order`` is a 32-byte word, so the struct hash is one keccak over the words;
    a test proves it equals eth-account's and the contract's digest.
    """
    m = order.message()
    words = b"".join(int(m[f["name"]], 16).to_bytes(32, "big") if f["type"] == "address"
                     else int(m[f["name"]]).to_bytes(32, "big") for f in order_types()["Order"])
    struct_hash = keccak(_order_typehash() + words)
    return keccak(b"\x19\x01" + (separator or domain_separator(dom)) + struct_hash)


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The address that signed ``digest`` (65-byte ``r‖s‖v``)."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("a signature is 65 bytes r‖s‖v with v 27 or 28")
    sig = keys.Signature(signature[:64] + bytes([signature[64] - 27]))
    return checksum("0x" + sig.recover_public_key_from_msg_hash(digest).to_canonical_address().hex())


def cost_of(price_per_hour: int, amount: int, side: int) -> int:
    """CPT wei for ``amount`` GPU-seconds, rounded in the maker's favour (up on a sell, down on a buy)."""
    product = price_per_hour * amount
    return -(-product // SECONDS_PER_HOUR) if side == SELL else product // SECONDS_PER_HOUR


def fee_of(cost: int, fee_bps: int) -> int:
    """The exchange fee on ``cost`` CPT wei, rounded up as the contract does (no fill too small to pay it)."""
    return (cost * fee_bps + 9_999) // 10_000
