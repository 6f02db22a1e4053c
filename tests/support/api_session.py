"""Sign in to the live API with SIWE, as a test user (not a test module)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from backend.auth.siwe import SiweMessage


def bearer(client: httpx.Client, user: LocalAccount) -> dict[str, str]:
    """Headers carrying a fresh session of ``user``."""
    info = client.post("/api/v1/auth/nonce").json()
    text = SiweMessage(domain=info["domain"], address=user.address, uri=f"http://{info['domain']}",
                       chain_id=info["chain_id"], nonce=info["nonce"],
                       issued_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       statement="Sign in to GPU Barter").to_text()
    signature = "0x" + user.sign_message(encode_defunct(text=text)).signature.hex()
    r = client.post("/api/v1/auth/login", json={"message": text, "signature": signature})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
