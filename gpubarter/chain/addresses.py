"""Address spelling on hot paths (the relay, the indexer): checksums cached, validation by pattern.

``eth_utils``' converters check their arguments through decorators that cost more than the keccak;
the same few makers and contracts come up again and again, so their checksums are cached.
"""

from __future__ import annotations

import re
from functools import lru_cache

from eth_utils import to_checksum_address

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@lru_cache(maxsize=65_536)
def checksum(address: str) -> str:
    """The EIP-55 spelling of a 20-byte hex address."""
    return to_checksum_address(address)


def is_hex_address(value: object) -> bool:
    """A ``0x`` hex address: all lower or all upper case, or mixed case with a valid EIP-55 checksum
    (as ``eth_utils.is_address`` judges it)."""
    if not isinstance(value, str) or not _HEX_ADDRESS.fullmatch(value):
        return False
    body = value[2:]
    return body.islower() or body.isupper() or body.isdigit() or checksum(value) == value
