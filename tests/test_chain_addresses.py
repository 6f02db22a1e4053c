"""The relay's address check: any hex address in one case, or mixed case only with a valid EIP-55
checksum (a mistyped address is refused, as web3 refuses it for a transaction)."""

from __future__ import annotations

from eth_utils import is_address, is_checksum_address, to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from gpubarter.chain.addresses import checksum, is_hex_address

GOOD = to_checksum_address("0x52908400098527886e0f7030069857d2e4169ee7")


def test_accepts_what_eth_utils_accepts_and_refuses_the_rest() -> None:
    for value in (GOOD, GOOD.lower(), "0x" + GOOD[2:].upper(), "0x" + "0" * 40):
        assert is_hex_address(value) and is_address(value)
    first_letter = next(i for i, c in enumerate(GOOD) if i > 1 and c.isalpha())
    bad_checksum = GOOD[:first_letter] + GOOD[first_letter].swapcase() + GOOD[first_letter + 1:]
    for value in (bad_checksum, GOOD[:-1], GOOD + "0", GOOD[2:], "0x" + "g" * 40, None, 42, b"\x00" * 20):
        assert not is_hex_address(value)
    assert checksum(GOOD.lower()) == GOOD


@given(st.binary(min_size=20, max_size=20), st.lists(st.booleans(), min_size=40, max_size=40))
def test_agrees_with_eip55_on_any_casing(raw: bytes, upper: list[bool]) -> None:
    spelled = "0x" + "".join(c.upper() if u else c for c, u in zip(raw.hex(), upper, strict=True))
    one_case = spelled[2:] in (raw.hex(), raw.hex().upper())
    assert is_hex_address(spelled) == (one_case or is_checksum_address(spelled))
