"""Event log searches in bounded block ranges.

Public RPC providers refuse ``eth_getLogs`` over large block ranges (many cap a request at 10,000
or even 1,000 blocks, or at 10,000 results). Every one-shot search of the protocol goes through
this module: it starts at a known block (a contract's deployment block, or a better one the
caller kept), resolves ``"latest"`` once, and asks for at most ``max_range`` blocks per request.
``max_range`` comes from the network (``max_log_range`` in ``networks.toml``, see
:func:`gpubarter.chain.network.log_range_for`).

- :func:`find_logs`: every matching log between two blocks, oldest first.
- :func:`find_latest`: newest first, stopping at the first log that matches (for "the latest
  KeyReleased of step i" lookups, which then read only the most recent chunks).
- :func:`block_ranges` and :func:`get_logs_in`: the pieces, for a follower that keeps a cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

import requests
from web3.contract.contract import ContractEvent
from web3.exceptions import Web3RPCError
from web3.types import EventData

from gpubarter.errors import ChainError

BlockRef = int | Literal["latest"]


def block_ranges(first: int, last: int, max_range: int, *,
                 newest_first: bool = False) -> Iterator[tuple[int, int]]:
    """Inclusive ``(start, end)`` ranges of at most ``max_range`` blocks covering ``first..last``."""
    if max_range < 1:
        raise ValueError(f"max_range must be at least 1 block, got {max_range}")
    if newest_first:
        end = last
        while end >= first:
            start = max(first, end - max_range + 1)
            yield start, end
            end = start - 1
    else:
        start = first
        while start <= last:
            end = min(last, start + max_range - 1)
            yield start, end
            start = end + 1


def find_logs(event: ContractEvent, *, from_block: int, to_block: BlockRef = "latest", max_range: int,
              argument_filters: dict[str, Any] | None = None) -> list[EventData]:
    """Every log of ``event`` matching ``argument_filters`` in ``from_block..to_block``, oldest first."""
    first, last = _span(event, from_block, to_block)
    return [log for start, end in block_ranges(first, last, max_range)
            for log in get_logs_in(event, start, end, argument_filters)]


def iter_newest_first(event: ContractEvent, *, from_block: int, to_block: BlockRef = "latest",
                      max_range: int, argument_filters: dict[str, Any] | None = None) -> Iterator[EventData]:
    """The logs of :func:`find_logs`, newest first, fetched one range at a time as they are consumed."""
    first, last = _span(event, from_block, to_block)
    for start, end in block_ranges(first, last, max_range, newest_first=True):
        yield from reversed(get_logs_in(event, start, end, argument_filters))


def find_latest(event: ContractEvent, *, from_block: int, to_block: BlockRef = "latest", max_range: int,
                argument_filters: dict[str, Any] | None = None,
                where: Callable[[EventData], bool] = lambda _log: True) -> EventData | None:
    """The newest log of ``event`` matching ``argument_filters`` and ``where``, or None; stops reading
    at the range where it finds one."""
    logs = iter_newest_first(event, from_block=from_block, to_block=to_block, max_range=max_range,
                             argument_filters=argument_filters)
    return next((log for log in logs if where(log)), None)


def _span(event: ContractEvent, from_block: int, to_block: BlockRef) -> tuple[int, int]:
    if from_block < 0:
        raise ValueError(f"from_block must be a block number >= 0, got {from_block}")
    return from_block, int(event.w3.eth.block_number) if to_block == "latest" else to_block


def get_logs_in(event: ContractEvent, start: int, end: int,
                argument_filters: dict[str, Any] | None = None) -> list[EventData]:
    """One ``eth_getLogs`` request for ``start..end`` (for callers that walk :func:`block_ranges` themselves,
    keeping a cursor); a refusal raises a :class:`ChainError` that says what to change."""
    try:
        return list(event.get_logs(argument_filters=argument_filters, from_block=start, to_block=end))
    except Web3RPCError as exc:
        error = (exc.rpc_response or {}).get("error")
        reason = error.get("message", error) if isinstance(error, dict) else exc.message
        raise ChainError(
            f"the node refused eth_getLogs for {event.event_name} in blocks {start}..{end} "
            f"({end - start + 1} blocks): {reason}. If it limits the block range, lower max_log_range "
            "of this network in networks.toml") from None
    except requests.RequestException as exc:
        raise ChainError(f"eth_getLogs for {event.event_name} in blocks {start}..{end} failed "
                         f"({type(exc).__name__}); check the RPC endpoint") from None
