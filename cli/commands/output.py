"""How the CLI shows things: one console, transactions with hash and gas."""

from __future__ import annotations

from rich.console import Console

from gpubarter.chain.tx import TxResult

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def show_tx(what: str, result: TxResult) -> None:
    console.print(f"{what}: tx {result.tx_hash} (block {result.block_number}, "
                  f"gas {result.gas_used:,})")
