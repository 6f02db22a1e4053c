"""Read every GPU once through a backend and describe what was (and was not) readable.

``python -m oracle.probe --backend nvml`` prints one JSON document; it is what
``gpubarter oracle gpus --json`` shows and what the fake-NVML tests inspect.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from oracle.backends import open_backend
from oracle.errors import OracleError


def probe(
    kind: str,
    *,
    sim_gpus: int = 1,
    pids: frozenset[int] = frozenset(),
    last_sample_us: int = 0,
    reads: int = 1,
) -> dict[str, Any]:
    backend = open_backend(kind, sim_gpus=sim_gpus)
    try:
        readings = []
        for gpu in backend.gpus():
            last = last_sample_us
            for _ in range(reads):
                r = backend.read(gpu.index, last, pids)
                last = r.last_sample_us
                readings.append(asdict(r))
        return {
            "backend": backend.kind,
            "simulated": backend.simulated,
            "driver": backend.driver(),
            "gpus": [asdict(g) for g in backend.gpus()],
            "notes": dict(getattr(backend, "notes", {})),
            "readings": readings,
        }
    finally:
        backend.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oracle.probe")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--sim-gpus", type=int, default=1)
    parser.add_argument("--pids", default="", help="comma-separated pids for accounting stats")
    parser.add_argument("--last-sample-us", type=int, default=0)
    parser.add_argument("--reads", type=int, default=1)
    args = parser.parse_args(argv)
    pids = frozenset(int(p) for p in args.pids.split(",") if p)
    try:
        doc = probe(
            args.backend,
            sim_gpus=args.sim_gpus,
            pids=pids,
            last_sample_us=args.last_sample_us,
            reads=args.reads,
        )
    except OracleError as exc:
        print(json.dumps({"error": str(exc), "kind": type(exc).__name__}))
        return 1
    print(json.dumps(doc, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
