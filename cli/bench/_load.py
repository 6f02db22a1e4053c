"""An open-loop HTTP load generator on loopback, in its own process, for ``gpubarter bench api``.

``python -m cli.bench._load PORT RATE SECONDS PATH...`` sends ``RATE`` GET requests per
second for ``SECONDS``, round-robin over the paths, on a schedule that does not wait for answers
(open loop: a slow server meets the same arrival rate, and latency is measured from each
request's scheduled time, so queueing shows instead of being hidden). It speaks minimal
HTTP/1.1 with keep-alive over asyncio streams (a connection pool that grows as needed) because a
full client library costs more CPU per request than the server under test. Prints a JSON
summary: per path the count, p50/p99 latency (ms) and errors; the achieved send rate.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

HOST = "127.0.0.1"
TIMEOUT_S = 5.0
MAX_IN_FLIGHT = 1_000

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _get(pool: list[Conn], port: int, path: str) -> int:
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: application/json\r\n\r\n".encode()
    while True:
        pooled = bool(pool)
        reader, writer = pool.pop() if pooled else await asyncio.open_connection(HOST, port)
        writer.write(request)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            break
        except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
            # The server closed a keep-alive connection that sat idle past its timeout before it read this
            # request (not one byte came back): send it again on another connection, as HTTP clients do.
            writer.close()
            if not pooled or getattr(exc, "partial", b""):
                raise
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    pool.append((reader, writer))
    return status


async def drive(port: int, rate: float, seconds: float, paths: list[str]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    pool: list[Conn] = []
    latencies: dict[str, list[float]] = {p: [] for p in paths}
    errors = dict.fromkeys(paths, 0)
    in_flight: set[asyncio.Task[None]] = set()

    async def one(path: str, due: float) -> None:
        try:
            status = await asyncio.wait_for(_get(pool, port, path), TIMEOUT_S)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            errors[path] += 1
            return
        if status == 200:
            latencies[path].append(loop.time() - due)
        else:
            errors[path] += 1

    total = max(1, int(rate * seconds))
    start = loop.time() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        path = paths[i % len(paths)]
        if len(in_flight) >= MAX_IN_FLIGHT:  # the server fell hopelessly behind: count, do not pile on
            errors[path] += 1
            continue
        task = asyncio.create_task(one(path, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    sent_for = max(loop.time() - start, total / rate)
    if in_flight:
        await asyncio.gather(*in_flight)
    for _reader, writer in pool:
        writer.close()
    return {
        "achieved_rps": total / sent_for,
        "paths": {p: {"n": len(lat), "errors": errors[p], "p50_ms": _ms(percentile(lat, 0.50)),
                      "p99_ms": _ms(percentile(lat, 0.99))} for p, lat in latencies.items()},
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def main(argv: list[str]) -> None:
    port, rate, seconds, paths = int(argv[0]), float(argv[1]), float(argv[2]), argv[3:]
    print(json.dumps(asyncio.run(drive(port, rate, seconds, paths))))


if __name__ == "__main__":
    main(sys.argv[1:])
