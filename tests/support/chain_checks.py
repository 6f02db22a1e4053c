"""What tests check on the chain, in one place: a call refused with a named custom error that
changed nothing, and a chain state to come back to (with anvil's clock put right)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from web3 import Web3

from gpubarter.chain.revert import error_name
from gpubarter.chain.tx import Sender
from gpubarter.errors import TransactionReverted


def reverts(send: Callable[[], Any], error: str, *observe: Callable[[], Any]) -> str:
    """Assert ``send()`` reverts with custom error ``error`` and every ``observe()`` is unchanged.

    Returns the decoded reason, for assertions on the values the error carries.
    """
    before = [o() for o in observe]
    with pytest.raises(TransactionReverted) as info:
        send()
    assert error_name(info.value.reason) == error, info.value.reason
    assert [o() for o in observe] == before, "state changed although the call was refused"
    return info.value.reason


def take_snapshot(w3: Web3) -> str:
    return w3.provider.make_request("evm_snapshot", [])["result"]


def revert_to(w3: Web3, snapshot: str, senders: Iterable[Sender] = ()) -> None:
    """Go back to ``snapshot``, put the chain's clock back on the wall clock, and make ``senders``
    read their nonces again."""
    w3.provider.make_request("evm_revert", [snapshot])
    # anvil's revert rewinds its clock to the snapshot's block time, so the chain would fall behind
    # the wall clock by every idle stretch of the session (and refuse the oracle's reports as future)
    latest = w3.eth.get_block("latest")["timestamp"]
    w3.provider.make_request("evm_setTime", [max(int(time.time()), latest + 1)])
    for sender in senders:
        sender.reset_nonce()


@contextmanager
def chain_snapshot(w3: Web3, senders: Iterable[Sender] = ()) -> Iterator[None]:
    """Everything done on the chain inside the block is undone after it (see :func:`revert_to`)."""
    snapshot = take_snapshot(w3)
    try:
        yield
    finally:
        revert_to(w3, snapshot, senders)
