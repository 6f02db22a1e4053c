"""Tables of the order relay: accepted orders and the indexed fills the price index reads.

Orders are off-chain data (a maker's signed offer); their ``remaining``/``status`` follow the
chain (fills and cancellations from the indexer, expiry and funding from the pruner). Fills are
a projection of ``OrderFilled`` events and are rebuilt after a reorg.

uint256 values (amounts, prices, epochs) are stored as zero-padded 78-digit decimal strings: exact
on every database, and their text order is their numeric order, so SQL can compare and sort them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import ADDRESS, HASH, UINT, Base, surrogate_id

UINT_DIGITS = UINT.length  # zero-padded to it, so that stored amounts sort as numbers

OPEN, UNFUNDED, FILLED, CANCELLED, EXPIRED = "open", "unfunded", "filled", "cancelled", "expired"
#: States an order can leave again (the pruner re-checks them); the others are final.
LIVE_STATES = (OPEN, UNFUNDED)


def to_uint(value: int) -> str:
    """The stored (zero-padded) form of a non-negative integer below 2**256."""
    if not 0 <= value < 2**256:
        raise ValueError(f"{value} is not a uint256")
    return str(value).zfill(UINT_DIGITS)


def from_uint(stored: str) -> int:
    return int(stored)


class MarketOrder(Base):
    """An order the relay accepted."""

    __tablename__ = "market_orders"
    __table_args__ = (Index("ix_market_orders_book", "series_id", "status", "side"),)

    id: Mapped[int] = surrogate_id()
    hash: Mapped[str] = mapped_column(HASH, unique=True)
    maker: Mapped[str] = mapped_column(ADDRESS, index=True)
    side: Mapped[int] = mapped_column(Integer)
    series_id: Mapped[int] = mapped_column(BigInteger)
    class_id: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[int] = mapped_column(BigInteger)
    window_end: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[str] = mapped_column(UINT)
    price_per_hour: Mapped[str] = mapped_column(UINT)
    expiry: Mapped[str] = mapped_column(UINT)
    epoch: Mapped[str] = mapped_column(UINT)
    salt: Mapped[str] = mapped_column(UINT)
    signature: Mapped[str] = mapped_column(String(132))
    remaining: Mapped[str] = mapped_column(UINT)
    status: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[int] = mapped_column(BigInteger)  # chain time (unix seconds)


class MarketFill(Base):
    """One ``OrderFilled`` event, with its block's timestamp (what the price index reads)."""

    __tablename__ = "market_fills"
    __table_args__ = (Index("ix_market_fills_index", "class_id", "month"),)

    id: Mapped[int] = surrogate_id()
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    order_hash: Mapped[str] = mapped_column(HASH, index=True)
    series_id: Mapped[int] = mapped_column(BigInteger, index=True)
    maker: Mapped[str] = mapped_column(ADDRESS)
    class_id: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[str] = mapped_column(String(7))
    price_per_hour: Mapped[str] = mapped_column(UINT)
    amount: Mapped[str] = mapped_column(UINT)
    cost: Mapped[str] = mapped_column(UINT)
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(HASH)
    timestamp: Mapped[int] = mapped_column(BigInteger)
