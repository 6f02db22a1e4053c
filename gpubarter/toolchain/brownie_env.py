"""brownie (eth-brownie) in an environment of its own, isolated from the user's.

eth-brownie pins web3 7 and eth-account 0.13, which cannot share an environment
with this project's web3 8, so brownie lives in a separate virtual environment that
``ensure_brownie_env()`` creates once with uv (about a minute; reused afterwards):

    <state dir>/brownie-<version>/venv   brownie and its pinned dependencies
    <state dir>/brownie-<version>/home   HOME for brownie: its data folder (~/.brownie,
                                         network-config.yaml, accounts) and py-solc-x's
                                         ~/.solcx, so the user's real ones are never touched

(``GPUBARTER_BROWNIE_DIR`` moves that folder.) brownie cannot download a compiler
here, so the project's solc wrapper (npm's WebAssembly solc) is installed as
``~/.solcx/solc-v<SOLC_VERSION>`` in that HOME, where py-solc-x finds it.
``run_brownie()`` runs a brownie command in the project root with that HOME and the
project's anvil first on PATH (brownie's ``development`` network starts ``anvil``).
"""

from __future__ import annotations

import platform
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpubarter import paths
from gpubarter.errors import ToolchainError
from gpubarter.settings import settings
from gpubarter.toolchain import tool_venv
from gpubarter.toolchain.node import anvil_binary
from gpubarter.toolchain.solc import SOLC_VERSION, solc_wrapper
from gpubarter.toolchain.tool_venv import ToolVenv

#: Pinned: 1.22.2 is the last eth-brownie release (its docs say it is no longer actively
#: maintained) and the one tests/test_brownie.py checks with brownie-config.yaml and
#: scripts/deploy.py. It pins every dependency exactly (web3 7.16 among them, hence the
#: separate environment), so this one pin makes the environment reproducible.
#: Changing it builds a new environment next to the old one.
BROWNIE_VERSION = "1.22.2"
#: scripts/deploy.py reads the product's settings (gpubarter/settings.py), which need
#: pydantic-settings, pinned to the main environment's version (uv.lock). Installed without its
#: dependencies: it declares python-dotenv>=0.21 and brownie pins 0.16.0, yet all it calls there
#: (``dotenv_values``) is the same in 0.16, and brownie's pydantic 2.13 and typing-inspection are
#: what it needs (tests/test_brownie.py deploys through it).
PYDANTIC_SETTINGS_VERSION = "2.16.3"
_REQUIREMENTS = (f"eth-brownie=={BROWNIE_VERSION}",)
_WITHOUT_DEPENDENCIES = (f"pydantic-settings=={PYDANTIC_SETTINGS_VERSION}",)
#: The brownie network ``use_network()`` points at a running chain.
LOCAL_NETWORK = "gpubarter-local"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: How brownie is started: its own ``main()``, after one repair. ``brownie run`` imports a
#: script as a dotted module name built from every folder of its absolute path
#: (``/home/ann.lee/p/scripts/deploy.py`` -> ``home.ann.lee.p.scripts.deploy``), which
#: fails with ``ModuleNotFoundError`` wherever a folder's name holds a dot, as many home
#: folders do. brownie 1.22.2 is the last release and is compiled (mypyc), so its import
#: cannot be patched; instead an import finder placed first answers that one dotted name
#: with the script's file (and its made-up parents with empty packages). Paths without a
#: dot are left to brownie.
_LAUNCH = """\
import importlib.machinery, importlib.util, sys
from pathlib import Path

def _script():
    if len(sys.argv) < 3 or sys.argv[1] != "run":
        return None
    path = Path(sys.argv[2]).with_suffix(".py")
    for found in (path, Path("scripts") / path):
        if found.is_file():
            return found.resolve()
    return None

class _ScriptFinder:
    def __init__(self, script):
        self.script = script
        self.name = ".".join(script.parts[1:-1]) + "." + script.stem

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            return importlib.util.spec_from_file_location(fullname, self.script)
        if self.name.startswith(fullname + "."):
            return importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        return None

script = _script()
if script is not None and any("." in part for part in script.parts[1:-1]):
    sys.meta_path.insert(0, _ScriptFinder(script))
from brownie._cli.__main__ import main
sys.exit(main())
"""


class BrownieError(ToolchainError):
    """brownie's environment could not be built, or a brownie command failed."""


@dataclass(frozen=True)
class BrownieEnv(ToolVenv):
    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def brownie(self) -> Path:
        return self.venv / "bin" / "brownie"

    @property
    def solc(self) -> Path:
        return self.home / ".solcx" / f"solc-v{SOLC_VERSION}"

    def environ(self, *, drop: Iterable[str] = (), path_first: Iterable[Path] = ()) -> dict[str, str]:
        """The environment brownie runs in: isolated HOME, brownie's venv, anvil on PATH."""
        env = super().environ(drop=["SOLCX_BINARY_PATH", *drop],
                              path_first=[anvil_binary().parent, *path_first])
        env.update(HOME=str(self.home), GPUBARTER_ROOT=str(paths.project_root()))
        return env


def env_dir() -> Path:
    return settings().toolchain.brownie_dir or paths.state_dir() / f"brownie-{BROWNIE_VERSION}"


def _stamp_text() -> str:
    return f"{' '.join(_REQUIREMENTS + _WITHOUT_DEPENDENCIES)} python={platform.python_version()}\n"


def ensure_brownie_env(*, quiet: bool = False) -> BrownieEnv:
    """Create brownie's environment if it is missing or outdated; return it."""
    env = BrownieEnv(env_dir())
    tool_venv.build_once(env.root, lambda: env.is_installed(_stamp_text(), env.brownie),
                         lambda uv: _install(env, uv, quiet=quiet), tool="brownie", error=BrownieError)
    # py-solc-x looks for solc-v<version> there: npm's WebAssembly solc behind a native-style CLI.
    script = (f"#!/bin/sh\n# gpubarter: npm's WebAssembly solc {SOLC_VERSION} behind a native-style CLI\n"
              f'exec node "{solc_wrapper()}" "$@"\n')
    tool_venv.write_if_changed(env.solc, script, mode=0o755)
    return env


def _install(env: BrownieEnv, uv: str, *, quiet: bool) -> None:
    tool_venv.create_venv(env, uv, list(_REQUIREMENTS), _stamp_text(),
                          without_dependencies=_WITHOUT_DEPENDENCIES, tool=f"eth-brownie {BROWNIE_VERSION}",
                          error=BrownieError, note="about a minute, once", quiet=quiet)
    if not env.brownie.is_file():
        raise BrownieError(f"eth-brownie installed but {env.brownie} is missing")


def _last_line(output: str) -> str:
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no output"


def run_brownie(args: Sequence[str], *, capture: bool = False, check: bool = True,
                timeout: float | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``brownie ARGS`` in the project root (or ``cwd``) in brownie's own environment.

    With ``check`` a non-zero exit raises :class:`BrownieError` quoting brownie's last
    line of output. With ``capture`` stdout and stderr are returned (merged in stdout).
    """
    env = ensure_brownie_env()
    root = cwd or paths.project_root()
    # brownie creates its build folders but not their parents (build/brownie needs build/).
    (root / "build" / "brownie").mkdir(parents=True, exist_ok=True)
    cmd = [str(env.python), "-c", _LAUNCH, *args]
    try:
        proc = subprocess.run(cmd, cwd=root, env=env.environ(), text=True, timeout=timeout,
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.STDOUT if capture else None)
    except subprocess.TimeoutExpired:
        raise BrownieError(f"`brownie {' '.join(args)}` did not finish within {timeout:.0f} s"
                           ) from None
    if check and proc.returncode != 0:
        said = f": {_last_line(proc.stdout)}" if capture else " (see its output above)"
        raise BrownieError(f"`brownie {' '.join(args)}` failed (exit {proc.returncode}){said}")
    return proc


def use_network(url: str, name: str = LOCAL_NETWORK, *, live_chain_id: int | None = None) -> str:
    """Point brownie's network ``name`` at the chain answering at ``url``; return ``name``.

    By default a development network: brownie attaches to the chain running there
    (and leaves it running), deploys from its unlocked accounts, and only if none
    answers starts ``anvil`` itself. With ``live_chain_id`` a live network instead:
    brownie then signs with a key of the user's (scripts/deploy.py takes
    ``GPUBARTER_PRIVATE_KEY`` or ``GPUBARTER_KEYSTORE``).
    """
    if not re.fullmatch(r"https?://[\w.\-]+:\d+/?", url):
        raise BrownieError(f"{url!r} is not an RPC URL of the form http://HOST:PORT")
    if not re.fullmatch(r"[\w\-]+", name):
        raise BrownieError(f"{name!r} is not a network name (letters, digits, - and _)")
    settings = [f"host={url}"]
    if live_chain_id is not None:
        settings.append(f"chainid={live_chain_id}")
    modified = run_brownie(["networks", "modify", name, *settings], capture=True, check=False)
    if modified.returncode != 0:
        kind = ["Ethereum"] if live_chain_id is not None else ["Development"]
        extra = [] if live_chain_id is not None else ["cmd=anvil"]
        run_brownie(["networks", "add", *kind, name, *settings, *extra], capture=True)
    return name
