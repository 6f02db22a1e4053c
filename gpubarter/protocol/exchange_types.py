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
from eth_utils import keccak

from gpubarter import paths
from gpubarter.chain import eip712
from gpubarter.chain.typed_structs import Types, load_types

BUY, SELL = 0, 1
SECONDS_PER_HOUR = 3_600
UINT64, UINT256 = 2**64 - 1, 2**256 - 1


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


def order_digest(dom: dict[str, Any], order: Order) -> bytes:
    """The EIP-712 digest the contract's ``hashOrder`` returns (the order's id)."""
    signable = encode_typed_data(full_message=_typed(dom, order))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def recover_signer(dom: dict[str, Any], order: Order, signature: bytes) -> str:
    return str(Account.recover_message(encode_typed_data(full_message=_typed(dom, order)),
                                       signature=signature))


def cost_of(price_per_hour: int, amount: int, side: int) -> int:
    """CPT wei for ``amount`` GPU-seconds, rounded in the maker's favour (up on a sell, down on a buy)."""
    product = price_per_hour * amount
    return -(-product // SECONDS_PER_HOUR) if side == SELL else product // SECONDS_PER_HOUR


def fee_of(cost: int, fee_bps: int) -> int:
    return cost * fee_bps // 10_000
