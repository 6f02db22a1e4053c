"""Fixtures of the oracle tests: a controllable clock, the fake NVML library, meter DBs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from oracle.testing import fake_nvml

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """A monotonic clock the test advances by hand (seconds)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def ns(self) -> int:
        return round(self.t * 1e9)

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def fake_nvml_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``build(omit=())`` -> a directory holding a compiled fake ``libnvidia-ml.so.1``."""
    built: dict[tuple[str, ...], Path] = {}

    def build(omit: tuple[str, ...] = ()) -> Path:
        if omit not in built:
            d = tmp_path_factory.mktemp("fake-nvml")
            fake_nvml.build(d, omit)
            built[omit] = d
        return built[omit]

    return build


def run_python(
    args: list[str], env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def probe_nvml(fake_nvml_dir: Callable[..., Path], tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Run ``python -m oracle.probe`` in a subprocess that loads the fake library."""

    def probe(
        gpus: list[fake_nvml.FakeGpu],
        *,
        omit: tuple[str, ...] = (),
        backend: str = "nvml",
        init_error: int = 0,
        errors: Mapping[str, int] | None = None,
        args: tuple[str, ...] = (),
        lib_dir: Path | None = None,
    ) -> dict[str, Any]:
        config = fake_nvml.write_config(
            tmp_path / "nvml.conf", gpus, init_error=init_error, errors=errors
        )
        env = fake_nvml.env(lib_dir or fake_nvml_dir(omit), config)
        done = run_python(["-m", "oracle.probe", "--backend", backend, *args], env)
        assert done.stdout, done.stderr
        doc = json.loads(done.stdout)
        doc["_rc"], doc["_stderr"] = done.returncode, done.stderr
        return doc

    return probe
