"""EIP-4361 messages: parse exactly, render, and verify against what the server expects.

Only externally owned accounts (ECDSA, EIP-191 ``personal_sign``) are accepted;
contract wallets (EIP-1271) are refused with a clear reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

from backend.errors import BackendError

_HEADER = re.compile(r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+\-.]*)://)?(?P<domain>[^\s/?#]+) wants you to "
                     r"sign in with your Ethereum account:$")
_FIELDS = (("URI", "uri"), ("Version", "version"), ("Chain ID", "chain_id"), ("Nonce", "nonce"),
           ("Issued At", "issued_at"), ("Expiration Time", "expiration_time"),
           ("Not Before", "not_before"), ("Request ID", "request_id"))
_REQUIRED = {"uri", "version", "chain_id", "nonce", "issued_at"}
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")


class SiweError(BackendError):
    """A sign-in message was refused; ``code`` is the stable API error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def parse_time(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError("siwe-invalid-message", f"{what} is not an RFC 3339 time: {text!r}") from None
    if value.tzinfo is None:
        raise SiweError("siwe-invalid-message", f"{what} must carry a time zone: {text!r}")
    return value


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    version: str = "1"
    statement: str | None = None
    scheme: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def to_text(self) -> str:
        prefix = f"{self.scheme}://" if self.scheme else ""
        lines = [f"{prefix}{self.domain} wants you to sign in with your Ethereum account:", self.address, ""]
        if self.statement is not None:
            lines += [self.statement, ""]
        else:
            lines += [""]
        for label, attr in _FIELDS:
            value = getattr(self, attr)
            if value is not None:
                lines.append(f"{label}: {value}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)

    @classmethod
    def parse(cls, text: str) -> SiweMessage:
        bad = SiweError("siwe-invalid-message", "the message is not an EIP-4361 sign-in message")
        lines = text.split("\n")
        if len(lines) < 8:
            raise bad
        header = _HEADER.match(lines[0])
        if not header or lines[2] != "":
            raise bad
        address = lines[1]
        if not is_checksum_address(address):
            raise SiweError("siwe-invalid-message", "the address must be an EIP-55 checksummed address")
        i = 3
        statement = None
        if lines[i] != "":
            statement = lines[i]
            if "\n" in statement or lines[i + 1] != "":
                raise bad
            i += 2
        else:
            i += 1
        values: dict[str, str] = {}
        order = [label for label, _ in _FIELDS]
        last = -1
        while i < len(lines) and lines[i] != "Resources:":
            label, sep, value = lines[i].partition(": ")
            if not sep or label not in order or order.index(label) <= last:
                raise bad
            last = order.index(label)
            values[dict(_FIELDS)[label]] = value
            i += 1
        resources: list[str] = []
        if i < len(lines):
            for line in lines[i + 1:]:
                if not line.startswith("- "):
                    raise bad
                resources.append(line[2:])
        if not values.keys() >= _REQUIRED:
            raise SiweError("siwe-invalid-message", f"missing fields: {sorted(_REQUIRED - values.keys())}")
        if values["version"] != "1":
            raise SiweError("siwe-invalid-message", "only version 1 messages are accepted")
        if not values["chain_id"].isdigit():
            raise SiweError("siwe-invalid-message", "Chain ID must be a decimal number")
        if not _NONCE.match(values["nonce"]):
            raise SiweError("siwe-invalid-message", "the nonce must be at least 8 alphanumerics")
        msg = cls(domain=header["domain"], scheme=header["scheme"], address=address, statement=statement,
                  uri=values["uri"], version=values["version"], chain_id=int(values["chain_id"]),
                  nonce=values["nonce"], issued_at=values["issued_at"],
                  expiration_time=values.get("expiration_time"), not_before=values.get("not_before"),
                  request_id=values.get("request_id"), resources=tuple(resources))
        for what in ("issued_at", "expiration_time", "not_before"):
            if getattr(msg, what) is not None:
                parse_time(getattr(msg, what), what.replace("_", " "))
        if msg.to_text() != text:  # round trip: nothing unparsed, nothing reordered
            raise bad
        return msg


def verify(text: str, signature: str, *, domain: str, chain_id: int, now: datetime | None = None,
           skew_s: int = 60) -> SiweMessage:
    """Parse and check a signed message; the nonce is checked by the caller (it is state)."""
    msg = SiweMessage.parse(text)
    now = now or datetime.now(UTC)
    if msg.domain != domain:
        raise SiweError("siwe-wrong-domain", f"the message is for {msg.domain!r}, this server is {domain!r}")
    if msg.chain_id != chain_id:
        raise SiweError("siwe-wrong-chain", f"the message is for chain {msg.chain_id}, expected {chain_id}")
    if (parse_time(msg.issued_at, "issued at") - now).total_seconds() > skew_s:
        raise SiweError("siwe-not-yet-valid", "the message was issued in the future")
    if msg.expiration_time and parse_time(msg.expiration_time, "expiration time") <= now:
        raise SiweError("siwe-expired", "the message has expired")
    if msg.not_before and parse_time(msg.not_before, "not before") > now:
        raise SiweError("siwe-not-yet-valid", "the message is not valid yet")
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:
        raise SiweError("siwe-bad-signature", "the signature is malformed") from None
    if signer != msg.address:
        raise SiweError("siwe-bad-signature", "the signature is not the message address's "
                        "(contract wallets, EIP-1271, are not supported)")
    return msg
