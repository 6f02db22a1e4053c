"""Tables of the index. Resource tables are projections of ``events`` and can be rebuilt."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


#: Column types every table spells the same way.
#: Surrogate primary key: BIGINT, but SQLite only autoincrements an INTEGER PRIMARY KEY.
PK = BigInteger().with_variant(Integer, "sqlite")
#: A uint256 as a decimal string (78 digits hold 2**256 - 1).
UINT = String(78)
ADDRESS = String(42)
HASH = String(66)


def surrogate_id() -> Mapped[int]:
    """A table's surrogate, increasing primary key ``id``: the key lists are ordered and paged by."""
    return mapped_column(PK, primary_key=True, autoincrement=True)


class Cursor(Base):
    """How far a follower has indexed: the last block processed and its hash."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(HASH)


class IndexedBlock(Base):
    """Hash of each block the index holds events from (and of the cursor block): the
    evidence the reorg check compares with the chain."""

    __tablename__ = "indexed_blocks"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(HASH)


class ChainEvent(Base):
    """One decoded protocol event."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("block_number", "log_index", name="uq_events_position"),)

    id: Mapped[int] = surrogate_id()
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str] = mapped_column(HASH)
    tx_hash: Mapped[str] = mapped_column(HASH, index=True)
    log_index: Mapped[int] = mapped_column(Integer)
    contract: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(ADDRESS)
    name: Mapped[str] = mapped_column(String(64), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuthNonce(Base):
    """A sign-in nonce: issued once, consumed once, expires."""

    __tablename__ = "auth_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger)  # unix seconds
    used: Mapped[bool] = mapped_column(default=False)


class AuthSession(Base):
    """A signed-in session; only the SHA-256 of its bearer token is stored."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(ADDRESS, index=True)
    expires_at: Mapped[int] = mapped_column(BigInteger)
