"""Sign-In with Ethereum through HTTP: nonces single-use, sessions expire, domain and chain bound."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from backend.auth.siwe import SiweError, SiweMessage


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def user():
    return Account.create()


def sign_in_message(client, user, **overrides) -> tuple[str, str]:
    info = client.post("/api/v1/auth/nonce").json()
    msg = SiweMessage(domain=info["domain"], address=user.address, uri=f"http://{info['domain']}",
                      chain_id=info["chain_id"], nonce=info["nonce"], issued_at=iso(datetime.now(UTC)),
                      statement="Sign in to GPU Barter")
    msg = dataclasses.replace(msg, **overrides)
    text = msg.to_text()
    return text, "0x" + user.sign_message(encode_defunct(text=text)).signature.hex()


def login(client, text: str, signature: str):
    return client.post("/api/v1/auth/login", json={"message": text, "signature": signature})


def test_sign_in_then_me_then_logout(client, user):
    text, sig = sign_in_message(client, user)
    r = login(client, text, sig)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=auth).json()["address"] == user.address
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert client.get("/api/v1/auth/me", headers=auth).json()["code"] == "session-expired"


def test_replayed_message_is_refused(client, user):
    text, sig = sign_in_message(client, user)
    assert login(client, text, sig).status_code == 200
    r = login(client, text, sig)
    assert r.status_code == 401 and r.json()["code"] == "siwe-nonce-used"


@pytest.mark.parametrize(("overrides", "code"), [
    ({"domain": "evil.example"}, "siwe-wrong-domain"),
    ({"chain_id": 1}, "siwe-wrong-chain"),
    ({"nonce": "deadbeefdeadbeef"}, "siwe-nonce-unknown"),
    ({"expiration_time": iso(datetime.now(UTC) - timedelta(minutes=1))}, "siwe-expired"),
    ({"not_before": iso(datetime.now(UTC) + timedelta(hours=1))}, "siwe-not-yet-valid"),
    ({"issued_at": iso(datetime.now(UTC) + timedelta(hours=1))}, "siwe-not-yet-valid"),
])
def test_bad_messages_are_refused_and_open_no_session(client, user, overrides, code):
    text, sig = sign_in_message(client, user, **overrides)
    r = login(client, text, sig)
    assert r.status_code == 401 and r.json()["code"] == code, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_refused_message_does_not_burn_the_nonce(client, user):
    text, sig = sign_in_message(client, user, domain="evil.example")
    assert login(client, text, sig).status_code == 401
    good = text.replace("evil.example", client.post("/api/v1/auth/nonce").json()["domain"], 1)
    good_sig = "0x" + user.sign_message(encode_defunct(text=good)).signature.hex()
    assert login(client, good, good_sig).status_code == 200


def test_signature_of_another_account_is_refused(client, user):
    text, _ = sign_in_message(client, user)
    forged = "0x" + Account.create().sign_message(encode_defunct(text=text)).signature.hex()
    r = login(client, text, forged)
    assert r.status_code == 401 and r.json()["code"] == "siwe-bad-signature"


@pytest.mark.parametrize("body", [
    {"message": "hello", "signature": "0x" + "11" * 65},
    {"message": "x", "signature": "0x12"},
    {"signature": "0x" + "11" * 65},
])
def test_malformed_login_bodies(client, body):
    r = login(client, body.get("message"), body["signature"]) if "message" in body else client.post(
        "/api/v1/auth/login", json=body)
    assert r.status_code in (401, 422)
    assert r.json()["code"] in ("siwe-invalid-message", "invalid-request")


def test_session_follows_message_expiration(client, user):
    soon = datetime.now(UTC) + timedelta(seconds=2)
    text, sig = sign_in_message(client, user, expiration_time=iso(soon))
    r = login(client, text, sig)
    assert r.status_code == 200 and r.json()["expires_at"] <= int(soon.timestamp())


def test_no_token_is_unauthenticated(client):
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["code"] == "session-expired"


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("Version: 1", "Version: 2"),
    lambda t: t.replace("URI:", "Uri:"),
    lambda t: t + "\nExtra: field",
    lambda t: t.replace("Chain ID: ", "Chain ID: x"),
    lambda t: t.lower(),
])
def test_parser_refuses_malformed_messages(mutate):
    msg = SiweMessage(domain="a.example", address=Account.create().address, uri="https://a.example",
                      chain_id=1, nonce="abcdefgh1234", issued_at="2026-01-01T00:00:00Z")
    assert SiweMessage.parse(msg.to_text()) == msg
    with pytest.raises(SiweError):
        SiweMessage.parse(mutate(msg.to_text()))
