"""Test harness: one real anvil chain per session, deployments per module, and every
test isolated by ``evm_snapshot`` / ``evm_revert`` (brownie's ``fn_isolation``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from chain_checks import chain_snapshot
from web3 import Web3

from devservers.anvil import LocalChain
from devservers.ipfs import ensure_ipfs_node
from devservers.postgres import PostgresError, ensure_postgres
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import DeployParams
from gpubarter.deploy_web3 import deploy_all
from gpubarter.deployment_record import Deployment
from gpubarter.toolchain import forge
from gpubarter.toolchain.compiler import compile_contracts
from gpubarter.toolchain.node import ensure_node_tools

ROOT = Path(__file__).resolve().parents[1]
#: Area fixture modules (tests/<name>.py, not test modules themselves).
pytest_plugins = ["compute_world", "escrow_world", "exchange_world", "ipfs_world"]
CHAIN_FIXTURES = {"chain", "w3", "accounts", "deployment"}


def pytest_configure(config: pytest.Config) -> None:
    """Install and build, once, what every test process needs, before pytest-xdist starts its
    workers: on a fresh clone, workers would otherwise race each other through npm, the compiler
    and the PostgreSQL install. Each step is a quick check when already done. After the npm tools,
    three things run side by side: the contracts' compile, the Foundry suites' build (when this run
    includes them; each is a minute of one core on a fresh clone) and the servers' installs."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller did it
        return
    ensure_node_tools(quiet=True)
    steps = [compile_contracts, _install_servers]
    if _runs_foundry_suites(config):
        steps.append(forge.build)
    with ThreadPoolExecutor(len(steps)) as pool:
        for done in [pool.submit(step) for step in steps]:
            done.result()


def _install_servers() -> None:
    ensure_ipfs_node(quiet=True)
    with contextlib.suppress(PostgresError):  # the PostgreSQL tests report it themselves
        ensure_postgres()


def _runs_foundry_suites(config: pytest.Config) -> bool:
    """Whether the paths this run was given include tests/test_invariants.py."""
    suites = (ROOT / "tests" / "test_invariants.py").resolve()
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == suites or (path.is_dir() and suites.is_relative_to(path)):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the work for ``--dist=loadscope`` (with ``--no-loadscope-reorder``): the Foundry suites
    first (minutes each, one core each), then the scopes that hold a ``slow`` test, then the others,
    larger ones first. Short scopes come last and fill in as workers free up, so that no worker is
    left alone with a long test at the end."""

    def scope(item: pytest.Item) -> str:
        return item.nodeid.rsplit("::", 1)[0] if item.cls else item.nodeid.split("::", 1)[0]

    sizes: dict[str, int] = {}
    slow: set[str] = set()
    for item in items:
        sizes[scope(item)] = sizes.get(scope(item), 0) + 1
        if item.get_closest_marker("slow"):
            slow.add(scope(item))
    first_seen = {name: i for i, name in enumerate(sizes)}

    def key(item: pytest.Item) -> tuple[int, int, int]:
        name = scope(item)
        rank = 0 if name.startswith("tests/test_invariants.py::Test") else 1 if name in slow else 2
        return (rank, -sizes[name], first_seen[name])

    items.sort(key=key)


@pytest.fixture(scope="session")
def chain() -> Iterator[LocalChain]:
    with LocalChain() as c:
        yield c


@pytest.fixture(scope="session")
def w3(chain: LocalChain) -> Web3:
    return connect(chain.url)


@pytest.fixture(scope="session")
def accounts(w3: Web3) -> list[Sender]:
    """Senders for anvil's ten funded dev accounts; [0] is the deployer/governance."""
    return [Sender(w3, dev_account(i)) for i in range(10)]


@pytest.fixture(scope="module")
def deployment(accounts: list[Sender], tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """The whole protocol, deployed once per test module by ``accounts[0]``."""
    params = DeployParams(initial_supply_cpt=1_000_000, faucet_amount_cpt=1_000,
                          faucet_cooldown_s=86_400)
    return deploy_all(accounts[0], network="local", params=params,
                      directory=tmp_path_factory.mktemp("deployments"))


@pytest.fixture(autouse=True)
def _isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Revert the chain after each test that touches it."""
    if not CHAIN_FIXTURES.intersection(request.fixturenames):
        yield
        return
    w3: Web3 = request.getfixturevalue("w3")
    with chain_snapshot(w3, request.getfixturevalue("accounts")):
        yield


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running ``gpubarter`` as a subprocess with state in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUBARTER_")}
    env.update(GPUBARTER_STATE_DIR=str(tmp_path / "state"),
               GPUBARTER_DEPLOYMENTS_DIR=str(tmp_path / "deployments"))
    return env
