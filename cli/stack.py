"""The local dev stack: chain, IPFS, deployment, backend, oracle and agents, under one work dir.

:class:`DevStack` is what ``gpubarter up``, ``gpubarter demo`` and the tests use::

    with DevStack(workdir=path, api_port=8000) as stack:
        stack.w3, stack.deployment, stack.store, stack.api_url, ...

Starting order: anvil (LocalChain) -> the protocol deployed by dev account 0 (saved under
``<workdir>/deployments``) -> the content store (a js-ipfs node with its repository in
``<workdir>/ipfs``, or the embedded store in ``<workdir>/state/vault/store``) -> the backend
(indexer + API on 127.0.0.1, index in ``<workdir>/index.sqlite`` unless a database URL is given)
-> the oracle daemon, and with ``agents=True`` (``gpubarter up``) the key agents of a dev
cooperative and of the dev provider (:mod:`cli.stack_agents`), each under a
:class:`~cli.supervisor.Supervisor`.
Stopping runs in reverse. Every process is tied to this one (``PR_SET_PDEATHSIG``), so
even a SIGKILLed owner leaves none behind.

The chain keeps its state in ``<workdir>/chain-state.json`` (anvil ``--state``, dumped
every few seconds and at exit): started again on the same work dir, the stack reloads it
and reuses the deployment instead of deploying anew.

``<workdir>/stack.json`` describes the running stack (URLs, pids, accounts); it is written
once everything is ready and removed at stop. Logs are in ``<workdir>/logs``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psutil
from web3 import Web3

from cli.stack_agents import COOP_ADMIN, PROVIDER, agent_specs, coop_keys_dir, dev_cooperative
from cli.supervisor import ChildSpec, Supervisor, child_env
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender
from gpubarter.deploy_web3 import deploy_all
from gpubarter.deployment_record import Deployment, load_deployment
from gpubarter.errors import ConfigError, DeploymentNotFound, NodeStartError
from gpubarter.process import free_port, port_in_use
from gpubarter.settings import ApiSettings, settings

if TYPE_CHECKING:
    from backend.service import BackendService
    from backend.vault.content_store import ContentStore
    from devservers.ipfs import LocalIpfsNode

HOST = "127.0.0.1"
_ADMIN_ROLE = b"\x00" * 32


class StackError(NodeStartError):
    """A part of the dev stack stopped working; the stack stops."""


@dataclass(frozen=True)
class DevAccount:
    index: int
    address: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class GpuProbe:
    simulated: bool
    gpus: int
    #: Why the GPUs are simulated (NVML's error), or the GPU names.
    detail: str


def http_ok(url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def probe_gpus(sim_gpus: int) -> GpuProbe:
    """What the oracle will meter: NVML's GPUs if it finds any, else simulated GPUs."""
    from oracle.backends import open_backend

    quiet = logging.getLogger("cli.stack.probe")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    backend = open_backend("auto", sim_gpus=sim_gpus, log=quiet)
    try:
        if backend.simulated:
            notes = dict(getattr(backend, "notes", {}))
            return GpuProbe(True, sim_gpus, notes.get("fallback", "NVML found no GPU"))
        gpus = backend.gpus()
        return GpuProbe(False, len(gpus), ", ".join(g.name for g in gpus))
    finally:
        backend.close()


class DevStack:
    """A whole local GPU Barter stack. A context manager, or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        api_port: int | None = None,
        ipfs: bool = True,
        database_url: str | None = None,
        oracle: bool = True,
        agents: bool = False,
        sim_gpus: int = 1,
        simulate: str | None = None,
        oracle_interval_s: float = 1.0,
        oracle_report_every_s: float = 10.0,
        children: Sequence[ChildSpec] = (),
        say: Callable[[str], None] = lambda _line: None,
    ) -> None:
        if api_port is not None and not 1 <= api_port <= 65535:
            raise ConfigError(f"--port must be 1..65535, not {api_port}")
        if not 1 <= sim_gpus <= 64:
            raise ConfigError(f"--sim-gpus must be 1..64, not {sim_gpus}")
        workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="gpubarter-stack-"))
        self.workdir = workdir.absolute()  # children run in the work dir and get its paths
        self.requested_api_port = api_port
        self.use_ipfs = ipfs
        self.database_url = database_url
        self.run_oracle = oracle
        self.run_agents = agents
        self.sim_gpus = sim_gpus
        #: Why the oracle meters simulated GPUs even where NVML finds real ones (None: it uses NVML's).
        self.simulate = simulate
        self.oracle_interval_s = oracle_interval_s
        self.oracle_report_every_s = oracle_report_every_s
        self.extra_children = tuple(children)
        self.say = say
        self._stack = contextlib.ExitStack()
        self.chain: LocalChain | None = None
        self._w3: Web3 | None = None
        self._deployment: Deployment | None = None
        self.redeployed = False
        #: (contract or call, gas) of each deployment transaction; empty when a deployment was reused.
        self.deploy_gas: list[tuple[str, int]] = []
        self.store: ContentStore | None = None
        self.ipfs_node: LocalIpfsNode | None = None
        self.backend: BackendService | None = None
        self.supervisor: Supervisor | None = None
        self.agents: Supervisor | None = None
        #: The dev cooperative whose key agent runs (``agents=True``), see cli/stack_agents.py.
        self.dev_cooperative: str | None = None
        self.gpu: GpuProbe | None = None
        self.metrics_url: str | None = None
        self.accounts: list[DevAccount] = []
        self._written_pids: dict[str, int] = {}
        self._wrote_state = False

    # -- where things are ----------------------------------------------------------------
    @property
    def deployments_dir(self) -> Path:
        return self.workdir / "deployments"

    @property
    def logs_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def oracle_db(self) -> Path:
        """The oracle daemon's meter database (jobs are launched into it with ``oracle run-job``)."""
        return self.workdir / "oracle" / "meter.sqlite"

    @property
    def state_file(self) -> Path:
        return self.workdir / "stack.json"

    @property
    def chain_url(self) -> str:
        return self._running(self.chain, "the chain").url

    @property
    def w3(self) -> Web3:
        return self._running(self._w3, "the chain")

    @property
    def deployment(self) -> Deployment:
        return self._running(self._deployment, "the deployment")

    @property
    def ipfs_api_url(self) -> str | None:
        """The IPFS node's RPC API, or None when the stack uses the embedded store."""
        return self.ipfs_node.api_url if self.ipfs_node is not None else None

    @property
    def api_url(self) -> str:
        return str(self._running(self.backend, "the backend").url)

    @property
    def pids(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, part in (("anvil", self.chain), ("ipfs", self.ipfs_node)):
            if part is not None and part.pid is not None:
                out[name] = part.pid
        return {**out, **(self.supervisor.pids if self.supervisor else {}),
                **(self.agents.pids if self.agents else {})}

    def sender(self, index: int) -> Sender:
        """A sender for anvil's dev account ``index`` (0 deployed everything)."""
        return Sender(self.w3, dev_account(index))

    @staticmethod
    def _running(value: Any, what: str) -> Any:
        if value is None:
            raise StackError(f"{what} is not running: start the stack first")
        return value

    # -- start and stop ------------------------------------------------------------------
    def start(self) -> DevStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        api_port = self.requested_api_port or free_port(HOST)
        if port_in_use(HOST, api_port):
            raise ConfigError(f"port {api_port} on {HOST} is in use: stop whatever listens there "
                              "or choose another with --port")
        self._claim_workdir()
        self._start_chain()
        self._deploy(api_port)
        # The children (a Python process each) load while the IPFS node and the backend start,
        # and the backend loads in a thread while this one waits for the IPFS node. (Processes
        # are started from this thread only: the parent-death signal follows the forking thread.)
        self._launch_children()
        pool = ThreadPoolExecutor(1, thread_name_prefix="stack-backend")
        backend = pool.submit(self._start_backend, api_port)
        try:
            self._start_store()
        finally:
            pool.shutdown(wait=True)
        backend.result()
        self._children_ready()
        self._start_agents()
        self.accounts = self._describe_accounts()
        self._write_state()

    def _claim_workdir(self) -> None:
        """Make the work dir's folders; refuse a file, an unwritable folder, or a running stack's."""
        if self.workdir.exists() and not self.workdir.is_dir():
            raise ConfigError(f"--dir {self.workdir} is a file, not a folder")
        running = self._running_stack_pid()
        if running is not None:
            raise ConfigError(f"a stack is already running in {self.workdir} (its chain is pid {running}): "
                              "stop it or choose another --dir")
        try:
            for folder in (self.workdir, self.deployments_dir, self.logs_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot use {self.workdir} as the stack's work dir: {exc.strerror}") from None

    def _running_stack_pid(self) -> int | None:
        """The chain pid in a stack.json left here, if that process still runs (a SIGKILLed
        stack leaves a stale stack.json, whose pids are gone)."""
        try:
            pid = int(json.loads(self.state_file.read_text())["pids"]["anvil"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        try:
            return pid if "anvil" in psutil.Process(pid).name() else None  # not a reused pid
        except psutil.Error:
            return None

    def _start_chain(self) -> None:
        state = self.workdir / "chain-state.json"
        self.chain = LocalChain(log_path=self.logs_dir / "anvil.log",
                                extra_args=("--state", str(state), "--state-interval", "5"))
        self._stack.callback(self.chain.stop)
        self.chain.start()
        self._w3 = connect(self.chain.url)
        self.say(f"chain: anvil at {self.chain.url} (chain id {self.chain.chain_id}, "
                 f"state {state.name})")

    def _deploy(self, api_port: int) -> None:
        w3 = self.w3
        try:
            existing = load_deployment(w3.eth.chain_id, self.deployments_dir)
            if all(w3.eth.get_code(Web3.to_checksum_address(a)) for a in existing.contracts.values()):
                self._deployment = existing
                self.say(f"deployment: reused the {len(existing.contracts)} contracts in "
                         f"{self.deployments_dir}")
                return
        except DeploymentNotFound:
            pass
        params = replace(settings().deploy.params(), credits_base_uri=f"http://{HOST}:{api_port}/credits/")
        self._deployment = deploy_all(
            self.sender(0), network="local", params=params, directory=self.deployments_dir,
            progress=lambda what, _address, gas: self.deploy_gas.append((what, gas)))
        self.redeployed = True
        self._forget_old_chain()
        self.say(f"deployment: {len(self._deployment.contracts)} contracts deployed by dev account 0, "
                 f"saved in {self.deployments_dir}")

    def _forget_old_chain(self) -> None:
        """A fresh deployment means a fresh chain: an index or meter database of an earlier
        chain in the work dir describes blocks and contracts that no longer exist."""
        stale = [p for p in (*self.workdir.glob("index.sqlite*"), self.workdir / "oracle") if p.exists()]
        for path in stale:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        if stale:
            self.say(f"removed the index and meter databases of an earlier chain from {self.workdir}")

    def _start_store(self) -> None:
        if not self.use_ipfs:
            from backend.vault.embedded_store import EmbeddedStore

            # where the vault's embedded store is for children run with the stack's state dir
            self.store = EmbeddedStore(self.workdir / "state" / "vault" / "store")
            self.say(f"content store: embedded (no IPFS node) in {self.store.location}")
            return
        from backend.vault.ipfs_store import IpfsStore
        from devservers.ipfs import LocalIpfsNode

        node = LocalIpfsNode(repo=self.workdir / "ipfs")
        self._stack.callback(node.stop)
        self.ipfs_node = node.start()
        store = IpfsStore(node.api_url, timeout_s=60, spool_dir=self.workdir / "spool")
        self._stack.callback(store.close)
        self.store = store
        self.say(f"content store: IPFS node (js-ipfs) API at {node.api_url}, repository "
                 f"{node.repo}")

    def _start_backend(self, api_port: int) -> None:
        from backend.service import BackendService

        url = self.database_url or f"sqlite:///{self.workdir / 'index.sqlite'}"
        service = BackendService(self.w3, self.deployment, database_url=url,
                                 settings=ApiSettings(host=HOST, port=api_port), poll_seconds=0.25)
        service.start()
        self.backend = service
        self._stack.callback(service.stop)
        self.say(f"backend: indexer following the chain, API at {service.url}/api/v1")

    def _oracle_spec(self) -> ChildSpec:
        simulated = GpuProbe(True, self.sim_gpus, self.simulate) if self.simulate else None
        self.gpu = simulated or probe_gpus(self.sim_gpus)
        port = free_port(HOST)
        self.metrics_url = f"http://{HOST}:{port}/metrics"
        env = child_env(GPUBARTER_LOCAL_RPC_URL=self.chain_url,
                        GPUBARTER_DEPLOYMENTS_DIR=str(self.deployments_dir),
                        GPUBARTER_STATE_DIR=str(self.workdir / "state"))
        cmd = (sys.executable, "-m", "oracle", "run",
               "--backend", "simulated" if self.gpu.simulated else "nvml",
               "--sim-gpus", str(self.sim_gpus), "--interval", str(self.oracle_interval_s),
               "--report-every", str(self.oracle_report_every_s), "--metrics-port", str(port),
               "--network", "local", "--submit", "--db", str(self.oracle_db))
        metrics_url = self.metrics_url
        # cwd: the work dir, so no project .env hands the oracle another signing key
        return ChildSpec("oracle", cmd, ready=lambda: http_ok(metrics_url), env=env, cwd=self.workdir)

    def _launch_children(self) -> None:
        specs = [*([self._oracle_spec()] if self.run_oracle else []), *self.extra_children]
        if self.gpu is not None:
            if self.gpu.simulated:
                self.say(f"oracle: SIMULATED GPU(s): {self.gpu.gpus} simulated GPU(s), no real GPU is "
                         f"measured ({self.gpu.detail}); every usage report is marked simulated")
            else:
                self.say(f"oracle: metering {self.gpu.gpus} real GPU(s) through NVML ({self.gpu.detail})")
        if not specs:
            return
        self.supervisor = Supervisor(specs, log_dir=self.logs_dir, say=self.say)
        self._stack.callback(self.supervisor.stop)
        self.supervisor.launch()

    def _start_agents(self) -> None:
        """The key agents (after the content store: the provider's agent reads shards from it)."""
        if not self.run_agents:
            return

        self.dev_cooperative = dev_cooperative(self)
        self.agents = Supervisor(agent_specs(self, self.dev_cooperative), log_dir=self.logs_dir, say=self.say)
        self._stack.callback(self.agents.stop)
        self.agents.launch()
        self.agents.wait_ready()
        self.say(f"agents: key agent of cooperative 'Dev Co-op' {self.dev_cooperative} (dev account "
                 f"{COOP_ADMIN}; its key store {coop_keys_dir(self)}) and the provider agent of dev account "
                 f"{PROVIDER} are running")

    def _children_ready(self) -> None:
        if self.supervisor is None:
            return
        self.supervisor.wait_ready()
        if self.metrics_url and self.run_oracle:
            self.say(f"oracle: daemon running (pid {self.supervisor.pids.get('oracle')}), "
                     f"signing as dev account 0, submitting to MeteringOracle; metrics {self.metrics_url}")

    def _describe_accounts(self) -> list[DevAccount]:
        w3, dep = self.w3, self.deployment
        admin_of = [dep.contract(w3, name) for name in dep.contracts
                    if any(f.get("name") == "hasRole" for f in dep.contract(w3, name).abi)]
        signers = {a.lower() for a in dep.contract(w3, "MeteringOracle").functions.signers().call()[0]}
        out = []
        for index, address in enumerate(w3.eth.accounts):
            roles: list[str] = []
            admin = [c for c in admin_of if c.functions.hasRole(_ADMIN_ROLE, address).call()]
            if admin:
                roles.append(f"deployer, governance: admin of {len(admin)} contracts, holds the CPT supply")
            if address.lower() in signers:
                roles.append("metering signer" + (" (the oracle daemon)" if self.run_oracle else ""))
            roles.extend(self._agent_roles(index))
            out.append(DevAccount(index, address, tuple(roles) or ("funded dev account",)))
        return out

    def _agent_roles(self, index: int) -> list[str]:
        if self.dev_cooperative is None:
            return []

        roles = {COOP_ADMIN: f"admin and key agent of 'Dev Co-op' {self.dev_cooperative} (agent running)",
                 PROVIDER: "provider (its agent is running; register and stake to accept deals)"}
        return [roles[index]] if index in roles else []

    def _write_state(self) -> None:
        doc = {"workdir": str(self.workdir), "chain_url": self.chain_url,
               "chain_id": self.deployment.chain_id,
               "api_url": self.api_url, "docs_url": f"{self.api_url}/docs", "ipfs_api_url": self.ipfs_api_url,
               "store": self.store.location, "metrics_url": self.metrics_url,
               "deployments_dir": str(self.deployments_dir), "contracts": self.deployment.contracts,
               "simulated_gpus": self.gpu.simulated if self.gpu else None, "pids": self.pids,
               "dev_cooperative": self.dev_cooperative,
               "accounts": [asdict(a) for a in self.accounts]}
        self._written_pids, self._wrote_state = doc["pids"], True
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(self.state_file)

    def check(self) -> None:
        """Raise StackError if a part stopped; report and restart children that died."""
        if self.chain is None or not self.chain.running:
            raise StackError(f"the chain (anvil) stopped; see {self.logs_dir / 'anvil.log'}")
        if self.ipfs_node is not None and not self.ipfs_node.running:
            raise StackError("the IPFS node stopped")
        if self.backend is not None and not self.backend.alive:
            raise StackError("the backend (indexer or API) stopped")
        for children in (self.supervisor, self.agents):
            if children is not None:
                children.poll()
        if self.pids != self._written_pids:  # a child was restarted: stack.json names its new pid
            self._write_state()

    def watch(self, *, poll_s: float = 0.5, until: Callable[[], bool] = lambda: False) -> None:
        """Supervise until ``until()`` is true (forever by default) or a part fails."""
        while not until():
            self.check()
            time.sleep(poll_s)

    def stop(self) -> None:
        if self._wrote_state:  # only this stack's own stack.json, never a running one's
            self.state_file.unlink(missing_ok=True)
            self._wrote_state = False
        self._stack.close()
        self.chain = self._w3 = self.backend = self.supervisor = self.agents = self.ipfs_node = None

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
