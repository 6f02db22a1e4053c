"""brownie users: ``brownie compile`` and ``brownie run scripts/deploy.py`` in brownie's
own environment (eth-brownie 1.22 pins web3 7), checked from this one (web3 8).

The environment is built once (about a minute) and reused by later runs. brownie's
transactions go to an anvil of this module's own, never the session chain.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devservers.anvil import LocalChain
from gpubarter import paths
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.network import connect
from gpubarter.deploy_plan import PLAN, WAD, DeployParams
from gpubarter.deployment_record import load_deployment
from gpubarter.errors import ConfigError
from gpubarter.settings import settings
from gpubarter.toolchain.brownie_env import (
    BrownieEnv,
    BrownieError,
    ensure_brownie_env,
    run_brownie,
    use_network,
)
from gpubarter.toolchain.compiler import SETTINGS, load_artifact
from gpubarter.toolchain.solc import EVM_VERSION, SOLC_VERSION

LIVE_NETWORK = "gpubarter-test-live"
#: Not anvil's usual 31337, so clearing brownie's records of this test chain (below)
#: cannot touch those of a chain the user runs.
CHAIN_ID = 31338
#: A run of brownie (start-up ~3 s on an idle machine) must not hang the suite.
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def brownie_env() -> BrownieEnv:
    return ensure_brownie_env()


@pytest.fixture(scope="module")
def compile_output(brownie_env: BrownieEnv) -> str:
    """``gpubarter brownie compile --all`` as a user runs it: every contract, from scratch."""
    gpubarter = Path(sys.executable).with_name("gpubarter")  # the installed entry point
    proc = subprocess.run([str(gpubarter), "brownie", "compile", "--all"],
                          cwd=paths.project_root(), capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
    return proc.stdout


@pytest.fixture(scope="module")
def brownie_chain(brownie_env: BrownieEnv) -> Iterator[LocalChain]:
    with LocalChain(chain_id=CHAIN_ID) as chain:
        yield chain


@pytest.fixture(scope="module")
def dev_network(brownie_chain: LocalChain) -> str:
    """A brownie development network attached to this module's anvil."""
    return use_network(brownie_chain.url)


@pytest.fixture(scope="module")
def live_network(brownie_chain: LocalChain) -> str:
    """A brownie live network on the same anvil: no unlocked accounts, a key is needed."""
    # brownie keeps live deployments in build/brownie/deployments/<chain-id>/ and refuses
    # to start when one has no code: those of an earlier run's anvil are gone.
    stale = paths.project_root() / "build" / "brownie" / "deployments" / str(CHAIN_ID)
    shutil.rmtree(stale, ignore_errors=True)
    return use_network(brownie_chain.url, LIVE_NETWORK, live_chain_id=brownie_chain.chain_id)


@pytest.fixture
def isolated(brownie_env: BrownieEnv, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Deployments go to tmp (yields that folder); the "user's" HOME is a fresh folder
    that must stay empty: brownie's data and py-solc-x's compilers live in its own."""
    home = tmp_path / "user-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("GPUBARTER_PRIVATE_KEY", "GPUBARTER_KEYSTORE", "GPUBARTER_KEYSTORE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    deployments = tmp_path / "deployments"
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(deployments))
    yield deployments
    assert list(home.iterdir()) == [], "brownie wrote into the user's HOME"


def _brownie_artifact(name: str) -> dict:
    path = paths.project_root() / "build" / "brownie" / "contracts" / f"{name}.json"
    return json.loads(path.read_text())


@pytest.mark.slow
def test_brownie_compile_builds_every_contract_with_the_pinned_compiler(compile_output: str):
    assert "Project has been compiled" in compile_output
    sources = sorted(paths.contracts_dir().rglob("*.sol"))
    assert sources
    for step in PLAN:
        artifact = _brownie_artifact(step.contract)
        assert artifact["compiler"]["version"].startswith(f"{SOLC_VERSION}+commit")
        assert artifact["compiler"]["evm_version"] == EVM_VERSION
        assert artifact["compiler"]["optimizer"] == SETTINGS["optimizer"]
        assert artifact["bytecode"], f"{step.contract} has no bytecode"
        # brownie and `gpubarter compile` see the same contract.
        assert artifact["abi"] == load_artifact(step.contract)["abi"]
    # The OpenZeppelin imports were resolved from node_modules/ and compiled too.
    assert _brownie_artifact("ERC20Permit")["sourcePath"].startswith("node_modules/@openzeppelin/")
    # brownie-config.yaml keeps brownie's folders out of the project root.
    for folder in ("interfaces", "reports"):
        assert not (paths.project_root() / folder).exists()


@pytest.mark.slow
def test_brownie_run_deploys_the_plan_to_a_development_network(
        compile_output: str, brownie_chain: LocalChain, dev_network: str, isolated: Path):
    out = run_brownie(["run", "scripts/deploy.py", "--network", dev_network],
                      capture=True, timeout=TIMEOUT_S).stdout
    assert f"Attached to local RPC client listening at '127.0.0.1:{brownie_chain.port}'" in out

    deployment = load_deployment(brownie_chain.chain_id, directory=isolated)
    assert deployment.network == "local"
    assert set(deployment.contracts) == {step.contract for step in PLAN}
    w3 = connect(brownie_chain.url)
    deployer = dev_account(0).address
    assert deployment.deployer == deployer
    for name, address in deployment.contracts.items():
        assert len(w3.eth.get_code(address)) > 0, f"no code for {name} at {address}"
    token = deployment.contract(w3, "ComputeToken")
    assert token.functions.symbol().call() == "CPT"
    assert token.functions.balanceOf(deployer).call() == DeployParams().initial_supply_cpt * WAD


@pytest.mark.slow
def test_brownie_run_on_a_live_network_signs_with_the_key_from_the_environment(
        compile_output: str, brownie_chain: LocalChain, live_network: str, isolated: Path,
        monkeypatch: pytest.MonkeyPatch):
    signer = dev_account(1)
    key = signer.key.hex().removeprefix("0x")
    monkeypatch.setenv("GPUBARTER_PRIVATE_KEY", key)
    monkeypatch.setenv("GPUBARTER_FAUCET_AMOUNT_CPT", "7")
    out = run_brownie(["run", "scripts/deploy.py", "--network", live_network],
                      capture=True, timeout=TIMEOUT_S).stdout
    assert key.lower() not in out.lower()

    deployment = load_deployment(brownie_chain.chain_id, directory=isolated)
    assert deployment.network == LIVE_NETWORK
    assert deployment.deployer == signer.address
    token = deployment.contract(connect(brownie_chain.url), "ComputeToken")
    assert token.functions.symbol().call() == "CPT"
    supply = DeployParams().initial_supply_cpt * WAD
    assert token.functions.balanceOf(signer.address).call() == supply
    assert token.functions.faucetAmount().call() == 7 * WAD


@pytest.mark.slow
@pytest.mark.parametrize(("key", "expected"), [
    (None, f"network {LIVE_NETWORK} has no unlocked accounts: set GPUBARTER_PRIVATE_KEY"),
    ("0xdeadbeefcafe-not-a-key", "the private key from GPUBARTER_PRIVATE_KEY is malformed"),
])
def test_brownie_run_on_a_live_network_without_a_usable_key_deploys_nothing(
        compile_output: str, brownie_chain: LocalChain, live_network: str, isolated: Path,
        monkeypatch: pytest.MonkeyPatch, key: str | None, expected: str):
    if key is not None:
        monkeypatch.setenv("GPUBARTER_PRIVATE_KEY", key)
    w3 = connect(brownie_chain.url)
    block = w3.eth.block_number
    proc = run_brownie(["run", "scripts/deploy.py", "--network", live_network],
                       capture=True, check=False, timeout=TIMEOUT_S)
    assert proc.returncode == 1
    assert f"\nerror: {expected}" in proc.stdout  # one line, no traceback
    assert "Traceback" not in proc.stdout
    assert "deadbeefcafe" not in proc.stdout
    assert w3.eth.block_number == block
    assert not isolated.exists()


@pytest.mark.slow
def test_brownie_run_works_in_a_folder_whose_path_holds_a_dot_or_a_hyphen(
        brownie_env: BrownieEnv, dev_network: str, tmp_path: Path):
    # brownie 1.22.2 alone imports /…/ann.lee/p/scripts/hello.py as the module
    # `…ann.lee.p.scripts.hello` and fails with ModuleNotFoundError; the launcher repairs it.
    project = tmp_path / "ann.lee" / "my-project"
    (project / "scripts").mkdir(parents=True)
    (project / "contracts").mkdir()
    (project / "scripts" / "hello.py").write_text(
        "def main():\n    print('hello from', __file__)\n")
    out = run_brownie(["run", "scripts/hello.py", "--network", dev_network],
                      capture=True, timeout=TIMEOUT_S, cwd=project).stdout
    assert f"hello from {project / 'scripts' / 'hello.py'}" in out


def test_use_network_refuses_a_url_that_is_not_http_host_port():
    with pytest.raises(BrownieError, match="not an RPC URL of the form http://HOST:PORT"):
        use_network("ftp://127.0.0.1")


def test_ensure_brownie_env_says_when_uv_is_missing(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GPUBARTER_BROWNIE_DIR", str(tmp_path / "brownie"))
    monkeypatch.delenv("UV", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrownieError, match="`uv` was not found on PATH"):
        ensure_brownie_env(quiet=True)
    assert not (tmp_path / "brownie").exists()


def test_deploy_params_come_from_the_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GPUBARTER_FAUCET_COOLDOWN_S", "60")
    monkeypatch.setenv("GPUBARTER_UNBONDING_PERIOD_S", "120")
    assert settings().deploy.params() == DeployParams(faucet_cooldown_s=60, unbonding_period_s=120)
    monkeypatch.setenv("GPUBARTER_FAUCET_COOLDOWN_S", "soon")
    with pytest.raises(ConfigError, match="GPUBARTER_FAUCET_COOLDOWN_S='soon' is not valid"):
        settings()

