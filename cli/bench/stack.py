"""``gpubarter bench stack``: how long the dev stack (``gpubarter up``) takes to start and stop.

Baseline, measured in the same run: a bare anvil started and the protocol deployed
(``deploy_all``), which every stack start includes. The stack adds the backend (indexer +
API), the oracle daemon (a Python child process that must answer its metrics port) and,
unless ``--no-ipfs``, a js-ipfs node (a fresh repository: ``ipfs init`` included).
Issue 7 sets no time budget; the rows are reported without one.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from cli.bench import Measurement
from cli.stack import DevStack
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender
from gpubarter.deploy_web3 import deploy_all

BASELINE = "anvil start + deploy_all"


def _bare_chain_and_deploy(folder: Path) -> float:
    t0 = time.perf_counter()
    with LocalChain() as chain:
        deploy_all(Sender(connect(chain.url), dev_account(0)), network="local", directory=folder)
        return time.perf_counter() - t0


def _stack(folder: Path, *, ipfs: bool) -> tuple[float, float]:
    """(seconds until every part is ready, seconds to stop them all)."""
    stack = DevStack(workdir=folder, ipfs=ipfs)
    t0 = time.perf_counter()
    stack.start()
    up = time.perf_counter() - t0
    t1 = time.perf_counter()
    stack.stop()
    return up, time.perf_counter() - t1


def run() -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="gpubarter-bench-stack-") as tmp:
        root = Path(tmp)
        baseline = _bare_chain_and_deploy(root / "bare")
        rows = []
        for label, ipfs in (("--no-ipfs", False), ("with a fresh IPFS node", True)):
            up, down = _stack(root / label.replace(" ", "-"), ipfs=ipfs)
            rows += [Measurement(f"dev stack up, {label} (all parts ready)", up, "s", BASELINE, baseline),
                     Measurement(f"dev stack stop, {label}", down, "s", BASELINE, baseline)]
        return rows
