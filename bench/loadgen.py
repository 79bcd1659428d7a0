"""A small HTTP/1.1 keep-alive load generator: N clients, each one request at a time.

Written on raw asyncio streams so that the client spends as little of the machine's two
cores as possible; every figure (ours and the baselines) is measured with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    clients: int
    seconds: float
    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def post_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def run_load(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    clients: int,
    seconds: float,
    expect: int = 201,
    rate_limit: float | None = None,
) -> LoadResult:
    """Runs ``clients`` connections for ``seconds``; optionally paced to ``rate_limit``/s overall."""
    result = LoadResult(clients=clients, seconds=seconds)
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))
    interval = clients / rate_limit if rate_limit else 0.0

    async def client(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        next_at = time.perf_counter() + (n * interval / clients if interval else 0)
        try:
            while True:
                now = time.perf_counter()
                if now >= deadline:
                    break
                if interval:
                    if next_at > now:
                        await asyncio.sleep(next_at - now)
                    next_at += interval
                started = time.perf_counter()
                writer.write(make_request(next(counter)))
                status = await _read_response(reader)
                if status == expect:
                    result.ok += 1
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*[client(n) for n in range(clients)])
    result.seconds = time.perf_counter() - started
    return result
