"""Build and configure the fake NVML library (``fake_nvml.c``).

``build(directory, omit=...)`` compiles ``libnvidia-ml.so.1`` with gcc into
``directory``; a process started with ``LD_LIBRARY_PATH=directory`` and
``FAKE_NVML_CONFIG=<file>`` then loads it through pynvml's own ``CDLL`` call.
``write_config`` writes the file the library re-reads on every call.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from oracle.errors import OracleError

SOURCE = Path(__file__).with_name("fake_nvml.c")
LIBRARY = "libnvidia-ml.so.1"

# NVML return codes the tests inject.
NOT_SUPPORTED, NO_PERMISSION, NOT_FOUND, DRIVER_NOT_LOADED, GPU_IS_LOST = 3, 4, 6, 9, 15


def build(directory: Path, omit: Iterable[str] = ()) -> Path:
    """Compile the fake library into ``directory``; ``omit`` leaves functions out."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise OracleError("building the fake NVML library needs gcc (apt-get install gcc)")
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / LIBRARY
    cmd = [
        gcc,
        "-shared",
        "-fPIC",
        "-O1",
        "-Wall",
        "-Werror",
        "-o",
        str(out),
        str(SOURCE),
        *(f"-DOMIT_{name}" for name in omit),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise OracleError(f"gcc failed to build the fake NVML library:\n{done.stderr}")
    return out


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-00000000-0000-0000-0000-000000000000"
    energy_mj: int = 0
    util: tuple[int, int] = (0, 0)
    procs: dict[int, int] = field(default_factory=dict)  # pid -> used bytes
    samples: list[tuple[int, int, int]] = field(default_factory=list)  # (pid, ts us, sm %)
    accounting: bool = False
    acct: list[tuple[int, int, int, int, int]] = field(default_factory=list)


def write_config(
    path: Path, gpus: list[FakeGpu], *, init_error: int = 0, errors: Mapping[str, int] | None = None
) -> Path:
    """``errors`` maps ``"nvmlFunction"`` (all GPUs) or ``"<i>.nvmlFunction"`` to a code."""
    lines = [f"init_error={init_error}", f"count={len(gpus)}"]
    for i, g in enumerate(gpus):
        lines += [
            f"gpu.{i}.name={g.name}",
            f"gpu.{i}.uuid={g.uuid}",
            f"gpu.{i}.energy_mj={g.energy_mj}",
            f"gpu.{i}.util={g.util[0]}:{g.util[1]}",
            f"gpu.{i}.accounting={int(g.accounting)}",
        ]
        lines += [f"gpu.{i}.proc={pid}:{used}" for pid, used in g.procs.items()]
        lines += [f"gpu.{i}.sample={pid}:{ts}:{sm}" for pid, ts, sm in g.samples]
        lines += [f"gpu.{i}.acct={':'.join(map(str, a))}" for a in g.acct]
    lines += [f"error.{fn}={code}" for fn, code in (errors or {}).items()]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)  # the library may be reading it right now
    return path


def env(library_dir: Path, config: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of a subprocess that loads the fake library instead of any real one."""
    out = dict(os.environ if base is None else base)
    out["LD_LIBRARY_PATH"] = str(library_dir)
    out["FAKE_NVML_CONFIG"] = str(config)
    return out
