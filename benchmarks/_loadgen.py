"""A small HTTP load generator (asyncio, raw sockets), run in its own process by bench_serving.

Sends ``--requests`` POSTs of one body at ``--concurrency`` and prints one JSON line:
requests, errors (non-2xx or failed connections), status counts, throughput and latency
percentiles. Each request opens its own connection, as the inference server's gunicorn sync
workers close the connection after every response.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit


async def _one(host: str, port: int, request: bytes) -> tuple[int, float]:
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        await writer.drain()
        data = await reader.read()
        writer.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except (OSError, ValueError, IndexError):
        status = 0
    return status, time.perf_counter() - start


async def _run(url: str, body: bytes, content_type: str, n: int, concurrency: int,
               headers: tuple[str, ...] = ()) -> dict[str, object]:  # fmt: skip
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{h}\r\n" for h in headers)
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        f"{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            status, latency = await _one(host, port, request)
            statuses[status] += 1
            latencies.append(latency)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    return {
        "requests": n,
        "concurrency": concurrency,
        "errors": sum(c for s, c in statuses.items() if not 200 <= s < 300),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "wall_s": round(wall, 3),
        "throughput_rps": round(n / wall, 1),
        "p50_ms": round(pct(50), 3),
        "p99_ms": round(pct(99), 3),
        "mean_ms": round(1000 * sum(latencies) / len(latencies), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", required=True, type=Path)
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--header", action="append", default=[], help="an extra 'Name: value' header")
    args = parser.parse_args()
    body = args.body_file.read_bytes()
    result = asyncio.run(_run(args.url, body, args.content_type, args.requests, args.concurrency, tuple(args.header)))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
