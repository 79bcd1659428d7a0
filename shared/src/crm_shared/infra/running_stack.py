"""Where the operator's commands find PostgreSQL, Kafka and the services: in the
environment, else in the stack `crm up` runs from this folder.

While it runs, `crm up` describes its stack in ``<data dir>/stack.json`` and removes the
file when it stops. ``command_settings()`` reads it when neither ``CRM_DATABASE_URL`` nor
``CRM_KAFKA_BOOTSTRAP_SERVERS`` is set, so that `crm projections`, `crm apikey`,
`crm relay` and `crm dlq` need no variable next to `make up`. Infrastructure named in the
environment always wins, and is never mixed with the file's: a PostgreSQL given by hand
next to the embedded broker would be a stack nobody runs.

A file whose `crm up` is gone (killed before it could remove it) is refused, not used:
it names ports nothing may answer on any more, or something else's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from crm_shared.settings import Settings, get_settings

STACK_FILE = "stack.json"


class StaleStack(RuntimeError):
    """The stack file names a `crm up` that no longer runs."""


@dataclass(frozen=True)
class RunningStack:
    """What ``stack.json`` says about the stack `crm up` runs."""

    file: Path
    pid: int  # of `crm up`
    database_url: str
    bootstrap_servers: str
    embedded: bool  # on its own PostgreSQL and broker: the development secrets are accepted
    services: dict[str, str]  # name -> base URL

    @classmethod
    def read(cls, data_dir: Path) -> RunningStack | None:
        """The stack described in ``data_dir``, None when no `crm up` wrote one there."""
        file = data_dir.resolve() / STACK_FILE
        try:
            described = json.loads(file.read_text())
        except FileNotFoundError:
            return None
        return cls(
            file=file,
            pid=int(described["pid"]),
            database_url=str(described["database_url"]),
            bootstrap_servers=str(described["bootstrap_servers"]),
            embedded=bool(described.get("embedded", False)),
            services={str(k): str(v) for k, v in described.get("services", {}).items()},
        )

    def running(self) -> bool:
        """Is its `crm up` still running?"""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # running, as another user
            return True
        return True


def with_running_stack(settings: Settings) -> Settings:
    """``settings``, completed from the running stack when they name neither PostgreSQL
    nor Kafka. Raises ``StaleStack`` when the stack file's `crm up` no longer runs."""
    if settings.database_url is not None or settings.kafka_bootstrap_servers is not None:
        return settings
    stack = RunningStack.read(settings.data_dir)
    if stack is None:
        return settings
    if not stack.running():
        raise StaleStack(
            f"{stack.file} describes a stack whose `crm up` (pid {stack.pid}) is no longer "
            "running: start it again (`make up`), or remove the file and set "
            "CRM_DATABASE_URL and CRM_KAFKA_BOOTSTRAP_SERVERS"
        )
    given = settings.model_fields_set
    return settings.model_copy(
        update={
            "database_url": stack.database_url,
            "kafka_bootstrap_servers": stack.bootstrap_servers,
            # The key endpoint where `crm up` runs it, whatever this shell's ports say.
            "service_urls": settings.service_urls if "service_urls" in given else stack.services,
            "embedded": settings.embedded if "embedded" in given else stack.embedded,
        }
    )


def command_settings(command: str) -> Settings:
    """The settings of the operator's command `crm COMMAND`: the environment's, completed
    from the running stack; a stale stack file ends the command, saying why."""
    try:
        return with_running_stack(get_settings())
    except StaleStack as error:
        raise SystemExit(f"crm {command}: {error}") from None


def where_to_find(*variables: str) -> str:
    """What a command says when it finds no infrastructure."""
    return (
        f"set {' and '.join(variables)}, or run the stack with `make up` in this folder "
        f"(its commands find it in <CRM_DATA_DIR>/{STACK_FILE})"
    )
