"""EIP-712 typed data: domains bound to chain id and contract, signing, hashing."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

PERMIT_TYPES: dict[str, list[dict[str, str]]] = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def domain(name: str, version: str, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {"name": name, "version": version, "chainId": chain_id,
            "verifyingContract": verifying_contract}


def domain_of(contract: Any) -> dict[str, Any]:
    """The EIP-712 domain a contract reports through EIP-5267 ``eip712Domain()``."""
    _fields, name, version, chain_id, verifying, _salt, _ext = contract.functions.eip712Domain().call()
    return domain(name, version, chain_id, verifying)


def sign(account: LocalAccount, dom: dict[str, Any], types: dict[str, Any], primary: str,
         message: dict[str, Any]) -> tuple[int, bytes, bytes]:
    """Sign typed data; returns (v, r, s)."""
    signed = Account.sign_typed_data(account.key, full_message=typed_data(dom, types, primary, message))
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def typed_data(dom: dict[str, Any], types: dict[str, Any], primary: str,
               message: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 message eth-account signs, hashes and recovers."""
    return {"types": {**_domain_types(dom), **types}, "domain": dom, "primaryType": primary,
            "message": message}


def _domain_types(dom: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    order = [("name", "string"), ("version", "string"), ("chainId", "uint256"),
             ("verifyingContract", "address"), ("salt", "bytes32")]
    return {"EIP712Domain": [{"name": n, "type": t} for n, t in order if n in dom]}


def sign_permit(account: LocalAccount, token: Any, spender: str, value: int, deadline: int,
                nonce: int | None = None) -> tuple[int, bytes, bytes]:
    """EIP-2612 permit signature for ``token`` (a web3 contract)."""
    if nonce is None:
        nonce = token.functions.nonces(account.address).call()
    message = {"owner": account.address, "spender": spender, "value": value, "nonce": nonce,
               "deadline": deadline}
    return sign(account, domain_of(token), PERMIT_TYPES, "Permit", message)
