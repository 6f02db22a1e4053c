"""Sign-In with Ethereum: ``/auth/nonce``, ``/auth/login``, ``/auth/me``, ``/auth/logout``.

Writes that act for a user depend on :data:`CurrentUser`: a bearer token from a
session opened by a valid EIP-4361 message for this server's domain and chain.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from backend.api.deps import DbSession
from backend.api.problems import Problem
from backend.auth import sessions as store
from backend.auth.siwe import SiweError, parse_time, verify

router = APIRouter(prefix="/auth", tags=["auth"])
bearer = HTTPBearer(auto_error=False)


class NoncePublic(BaseModel):
    nonce: str
    expires_at: int
    domain: str
    chain_id: int


class LoginRequest(BaseModel):
    message: str = Field(max_length=4096, description="The EIP-4361 message, exactly as signed")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class SessionPublic(BaseModel):
    address: str
    expires_at: int
    token: str | None = None


def _settings(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.settings


@router.post("/nonce", response_model=NoncePublic, summary="A single-use nonce for a sign-in message")
def nonce(request: Request, session: DbSession) -> NoncePublic:
    s = _settings(request)
    value, expires = store.issue_nonce(session, ttl_s=s.siwe_nonce_ttl_s)
    return NoncePublic(nonce=value, expires_at=expires, domain=request.app.state.siwe_domain,
                       chain_id=request.app.state.chain_id)


@router.post("/login", response_model=SessionPublic,
             summary="Exchange a signed EIP-4361 message for a session",
             responses={401: {"description": "the message or signature was refused"}})
def login(body: LoginRequest, request: Request, session: DbSession) -> SessionPublic:
    s = _settings(request)
    try:
        msg = verify(body.message, body.signature, domain=request.app.state.siwe_domain,
                     chain_id=request.app.state.chain_id)
        store.consume_nonce(session, msg.nonce)
    except SiweError as exc:
        session.rollback()
        raise Problem(401, exc.code, exc.detail) from None
    not_after = None
    if msg.expiration_time:
        not_after = int(parse_time(msg.expiration_time, "expiration time").astimezone(UTC).timestamp())
    token, expires = store.open_session(session, msg.address, ttl_s=s.session_ttl_s, not_after=not_after)
    return SessionPublic(address=msg.address, expires_at=expires, token=token)


def current_user(session: DbSession,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Problem(401, "unauthenticated", "sign in first: POST /api/v1/auth/login, then send "
                      "'Authorization: Bearer <token>'")
    found = store.session_address(session, creds.credentials)
    if found is None:
        raise Problem(401, "session-expired", "the session is unknown or expired: sign in again")
    return found[0]


CurrentUser = Annotated[str, Depends(current_user)]


@router.get("/me", response_model=SessionPublic, summary="Who the bearer token signs in as")
def me(session: DbSession, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
       user: CurrentUser) -> SessionPublic:
    assert creds is not None
    found = store.session_address(session, creds.credentials)
    assert found is not None
    return SessionPublic(address=user, expires_at=found[1])


@router.post("/logout", status_code=204, summary="End the session")
def logout(session: DbSession, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
           _user: CurrentUser) -> None:
    assert creds is not None
    store.close_session(session, creds.credentials)


