"""``gpubarter ARGS`` run in-process as a dev account, for the CLI tests.

In-process, because a subprocess would pay web3's import (seconds) per command. Not a test
module: CLI test modules build their ``gpubarter`` fixture with :func:`in_process_cli`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli import main
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.deployment_record import Deployment, save_deployment

Cli = Callable[..., str]


def in_process_cli(deployment: Deployment, chain: LocalChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str], *, one_line_errors: bool = False) -> Iterator[Cli]:
    """Yields ``run(who, *args, ok=True) -> output``: runs ``gpubarter ARGS`` signing as dev account
    ``who`` against ``deployment`` on ``chain``, checks the exit status and that the key is never
    printed (and, with ``one_line_errors``, that a failure is one ``error:`` line)."""
    save_deployment(deployment, tmp_path / "deployments")
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    monkeypatch.setenv("GPUBARTER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GPUBARTER_LOCAL_RPC_URL", chain.url)
    monkeypatch.delenv("GPUBARTER_IPFS_API", raising=False)

    def run(who: int, *args: str, ok: bool = True) -> str:
        key = "0x" + bytes(dev_account(who).key).hex()
        monkeypatch.setenv("GPUBARTER_PRIVATE_KEY", key)
        status = main(list(args))
        captured = capsys.readouterr()
        out = captured.out + captured.err
        assert (status == 0) == ok, out
        assert key[2:] not in out
        if not ok and one_line_errors:
            assert out.startswith("error: ") and out.count("\n") == 1 and "Traceback" not in out, out
        return out

    yield run
