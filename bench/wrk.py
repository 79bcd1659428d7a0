"""HTTP load from `wrk`, a load generator in C: the services under test get the machine's
cores, not a Python client. `bench/post.lua` sends the bodies and prints the figures.

A Python load generator on the same two cores spent about one of them on itself and capped
every service near 900 requests/s, which hid the differences this benchmark is about.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

SCRIPT = Path(__file__).with_name("post.lua")
MARKER = "WRK_JSON "
# Where `make bench` gets wrk when it may install it itself (Debian and Ubuntu, as root).
INSTALL_HINT = (
    "wrk (https://github.com/wg/wrk) is not installed. Install it with your system's "
    "package manager: `sudo apt-get install wrk` (Debian, Ubuntu), `sudo dnf install wrk` "
    "(Fedora), `brew install wrk` (macOS); or build it: `git clone https://github.com/wg/wrk "
    "&& make -C wrk && sudo cp wrk/wrk /usr/local/bin/`. The benchmark never falls back to "
    "a load generator in Python: on the same cores it would measure itself."
)


class WrkMissing(RuntimeError):
    pass


class WrkFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: responses, how long, and what failed. A response that is not 2xx is a
    failure, as are socket errors and timeouts; ``rate`` counts only successes."""

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    client_cpu_s: float = 0.0  # what wrk itself used, to show it left the services alone

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx

    @property
    def failures(self) -> int:
        return self.non_2xx + self.socket_errors

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
            "failures": self.failures,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "mean_ms": self.mean_ms,
            "max_ms": self.max_ms,
            "client_cpu_s": round(self.client_cpu_s, 3),
        }


def parse_output(stdout: str) -> WrkResult:
    """The figures from the JSON line `post.lua`'s ``done()`` prints among wrk's own text."""
    line = next((line for line in stdout.splitlines() if line.startswith(MARKER)), None)
    if line is None:
        raise WrkFailed(f"wrk printed no {MARKER.strip()} line:\n{stdout[-2000:]}")
    figures = json.loads(line[len(MARKER) :])
    errors = figures["errors"]
    latency = figures["latency_us"]
    return WrkResult(
        requests=int(figures["requests"]),
        seconds=figures["duration_us"] / 1e6,
        non_2xx=int(figures["non_2xx"]),
        # errors.status is wrk's own count of answers >= 400, already in non_2xx.
        socket_errors=sum(int(errors[kind]) for kind in ("connect", "read", "write", "timeout")),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=latency["mean"] / 1000,
        max_ms=latency["max"] / 1000,
    )


def ensure_wrk() -> str:
    """wrk's path; installed with apt-get first when missing and we may (root, Debian)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
        if subprocess.run(install, env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, check=False)
            subprocess.run(install, env=env, check=False)
        found = shutil.which("wrk")
        if found:
            return found
    raise WrkMissing(INSTALL_HINT)


@dataclass(frozen=True)
class Load:
    """What wrk sends: a body template (``__N__`` made unique per request) to ``url``, or
    to each of ``paths`` in turn on ``url``'s host, with ``__ALT__`` in the body taking the
    next of ``alternates`` each time the paths start over."""

    url: str
    body: bytes
    token: str = ""
    prefix: str = "bench"
    paths: tuple[str, ...] = ()
    alternates: tuple[str, ...] = ()


@dataclass
class WrkRun:
    """A wrk process under way (its pid is what the CPU accounting watches)."""

    process: subprocess.Popen[str]
    body_file: Path
    paths_file: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def finish(self) -> WrkResult:
        """Waits for wrk; the result carries the CPU wrk itself used (its rusage)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        stdout = self.process.communicate()[0]
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.body_file.unlink(missing_ok=True)
        if self.paths_file is not None:
            self.paths_file.unlink(missing_ok=True)
        if self.process.returncode != 0:
            raise WrkFailed(f"wrk exited with {self.process.returncode}:\n{stdout[-2000:]}")
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return replace(parse_output(stdout), client_cpu_s=cpu)


class Wrk:
    """Starts wrk runs of ``post.lua``."""

    def __init__(self, binary: str, threads: int = 1) -> None:
        # One thread: a thousand or two requests a second are nothing to wrk, and every
        # core it leaves alone is the services'.
        self.binary = binary
        self.threads = threads

    def start(self, load: Load, connections: int, seconds: int, rate: float = 0) -> WrkRun:
        with tempfile.NamedTemporaryFile("wb", prefix="bench-body-", delete=False) as body:
            body.write(load.body)
        paths_file = None
        if load.paths:
            with tempfile.NamedTemporaryFile("w", prefix="bench-paths-", delete=False) as paths:
                paths.write("\n".join(load.paths) + "\n")
            paths_file = Path(paths.name)
        threads = min(self.threads, connections)
        env = {
            **os.environ,
            "BENCH_BODY_FILE": body.name,
            "BENCH_PREFIX": load.prefix,
            "BENCH_TOKEN": load.token,
            "BENCH_RATE": str(rate),
            "BENCH_THREADS": str(threads),
            "BENCH_PATHS_FILE": str(paths_file or ""),
            "BENCH_ALTERNATES": ",".join(load.alternates),
        }
        argv = [
            self.binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, seconds)}s",
            "--timeout",
            "10s",
            "-s",
            str(SCRIPT),
            load.url,
        ]
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        return WrkRun(process, Path(body.name), paths_file)

    def run(self, load: Load, connections: int, seconds: int, rate: float = 0) -> WrkResult:
        return self.start(load, connections, seconds, rate).finish()
