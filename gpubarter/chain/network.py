"""Networks by name and connecting to them.

``networks.toml`` at the project root names the networks ``--network`` accepts.
Each gives its chain id, the environment variable holding its RPC URL (URLs often
carry an API key, so they are not committed), a confirmation depth and the most blocks
one ``eth_getLogs`` request may span (``max_log_range``). ``local`` is the chain that
``gpubarter node`` keeps running.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import requests.adapters
from web3 import Web3
from web3.types import RPCEndpoint

from gpubarter import paths
from gpubarter.errors import ChainError, ConfigError
from gpubarter.settings import network_rpc_url, settings

#: Blocks per ``eth_getLogs`` request where a network does not say (public RPCs often cap at 1,000).
DEFAULT_MAX_LOG_RANGE = 1_000


@dataclass(frozen=True)
class Network:
    name: str
    chain_id: int | None
    rpc_url_env: str | None
    confirmations: int
    dev: bool  # anvil dev accounts may sign; faucet allowed
    max_log_range: int = DEFAULT_MAX_LOG_RANGE  # blocks per eth_getLogs request

    def rpc_url(self) -> str:
        if self.name == "local":
            return local_node_url()
        url = network_rpc_url(self.rpc_url_env or "")
        if not url:
            raise ConfigError(f"network {self.name!r} needs an RPC URL: set {self.rpc_url_env}")
        return url


def load_networks() -> dict[str, Network]:
    path = paths.project_root() / "networks.toml"
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: restore it from git") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return {
        name: Network(
            name=name,
            chain_id=cfg.get("chain_id"),
            rpc_url_env=cfg.get("rpc_url_env"),
            confirmations=int(cfg.get("confirmations", 0)),
            dev=bool(cfg.get("dev", False)),
            max_log_range=_max_log_range(path, name, cfg.get("max_log_range", DEFAULT_MAX_LOG_RANGE)),
        )
        for name, cfg in raw.items()
    }


def _max_log_range(path: Path, name: str, value: object) -> int:
    if type(value) is not int or value < 1:
        raise ConfigError(f"{path}: max_log_range of [{name}] must be a whole number of blocks >= 1, "
                          f"not {value!r}")
    return value


def get_network(name: str) -> Network:
    networks = load_networks()
    if name not in networks:
        raise ConfigError(f"unknown network {name!r}; known: {', '.join(sorted(networks))} "
                          "(add one to networks.toml)")
    return networks[name]


def log_range_for(name: str) -> int:
    """``max_log_range`` of network ``name``; :data:`DEFAULT_MAX_LOG_RANGE` for a network that
    networks.toml does not name (a deployment made under another name)."""
    network = load_networks().get(name)
    return network.max_log_range if network else DEFAULT_MAX_LOG_RANGE


def node_state_file() -> Path:
    return paths.state_dir() / "node.json"


def local_node_url() -> str:
    url = settings().chain.local_rpc_url
    if url:
        return url
    state = node_state_file()
    try:
        return str(json.loads(state.read_text())["url"])
    except (FileNotFoundError, KeyError, ValueError):
        raise ConfigError("no local chain is running: start one with `gpubarter node` "
                          "in another terminal (or set GPUBARTER_LOCAL_RPC_URL)") from None


def redact(url: str) -> str:
    """``scheme://host:port`` of an RPC URL: paths and queries often hold API keys."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _loopback_session(url: str) -> requests.Session | None:
    """For a node on this machine, one session that skips the proxy environment: requests reads
    every environment variable twice per call to look for proxies (about 1 ms a request), and a
    loopback node is never reached through a proxy. A remote node keeps web3's default sessions."""
    if urlsplit(url).hostname not in LOOPBACK_HOSTS:
        return None
    session = requests.Session()
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=64)  # the API's threads
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def connect(url: str, *, timeout: float = 10.0, expect_chain_id: int | None = None) -> Web3:
    """A Web3 connected to ``url``; a clear ChainError if it does not answer."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"RPC URL must start with http:// or https:// (got {redact(url)!r})")
    # Cache only eth_chainId: web3's validation middleware asks for it around every eth_call
    # (three round trips per read otherwise), and a chain's id never changes under a URL.
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, session=_loopback_session(url),
                                exception_retry_configuration=None,
                                cache_allowed_requests=True,
                                cacheable_requests={RPCEndpoint("eth_chainId")}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        raise ChainError(f"cannot reach the RPC endpoint {redact(url)} ({type(exc).__name__}); "
                         "check the URL and that the node is running") from None
    if expect_chain_id is not None and chain_id != expect_chain_id:
        raise ChainError(f"the RPC endpoint {redact(url)} serves chain {chain_id}, "
                         f"expected {expect_chain_id}")
    return w3
