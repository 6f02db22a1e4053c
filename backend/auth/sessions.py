"""Nonces and sessions in the index database."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from backend.auth.siwe import SiweError
from backend.db.models import AuthNonce, AuthSession


def _now() -> int:
    return int(time.time())


def issue_nonce(session: Session, *, ttl_s: int) -> tuple[str, int]:
    nonce = secrets.token_hex(16)
    expires = _now() + ttl_s
    session.execute(delete(AuthNonce).where(AuthNonce.expires_at < _now()))  # keep the table small
    session.add(AuthNonce(nonce=nonce, expires_at=expires, used=False))
    session.commit()
    return nonce, expires


def consume_nonce(session: Session, nonce: str) -> None:
    """Mark ``nonce`` used; exactly one caller can win (a conditional UPDATE)."""
    row = session.get(AuthNonce, nonce)
    if row is None:
        raise SiweError("siwe-nonce-unknown", "the nonce was not issued by this server")
    if row.expires_at < _now():
        raise SiweError("siwe-nonce-expired", "the nonce has expired; ask for a new one")
    result = session.execute(update(AuthNonce).where(AuthNonce.nonce == nonce, AuthNonce.used.is_(False))
                             .values(used=True))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise SiweError("siwe-nonce-used", "the nonce was already used: sign a new message")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, address: str, *, ttl_s: int,
                 not_after: int | None = None) -> tuple[str, int]:
    token = secrets.token_urlsafe(32)
    expires = _now() + ttl_s
    if not_after is not None:
        expires = min(expires, not_after)
    session.add(AuthSession(token_hash=_hash(token), address=address, expires_at=expires))
    session.commit()
    return token, expires


def session_address(session: Session, token: str) -> tuple[str, int] | None:
    row = session.get(AuthSession, _hash(token))
    if row is None or row.expires_at <= _now():
        return None
    return row.address, row.expires_at


def close_session(session: Session, token: str) -> None:
    session.execute(delete(AuthSession).where(AuthSession.token_hash == _hash(token)))
    session.commit()
