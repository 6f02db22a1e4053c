"""Recording the ``eth_getLogs`` requests a piece of code sends (not a test module).

``with getlogs_recorded(w3) as seen:`` adds a web3 middleware that records every request's
method and block range on its way to the real node (nothing is answered for it), so a test can
assert how a search was split.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.middleware import Web3Middleware


@dataclass
class Seen:
    ranges: list[tuple[int, int]] = field(default_factory=list)  # (fromBlock, toBlock) of each eth_getLogs
    methods: list[str] = field(default_factory=list)

    def count(self, method: str) -> int:
        return self.methods.count(method)

    def assert_bounded(self, max_range: int, first: int) -> None:
        """Every request spans 1..max_range blocks and none reaches below ``first``."""
        assert self.ranges, "no eth_getLogs request was sent"
        for start, end in self.ranges:
            assert 1 <= end - start + 1 <= max_range, f"request {start}..{end} spans more than {max_range}"
        assert min(start for start, _ in self.ranges) == first


def _block(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


@contextmanager
def getlogs_recorded(w3: Web3) -> Iterator[Seen]:
    seen = Seen()

    class Recorder(Web3Middleware):
        def request_processor(self, method: Any, params: Any) -> Any:
            seen.methods.append(str(method))
            if method == "eth_getLogs":
                seen.ranges.append((_block(params[0]["fromBlock"]), _block(params[0]["toBlock"])))
            return method, params

    w3.middleware_onion.add(Recorder, name="getlogs-recorder")
    try:
        yield seen
    finally:
        w3.middleware_onion.remove("getlogs-recorder")
