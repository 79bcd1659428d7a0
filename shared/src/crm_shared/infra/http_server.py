"""Runs a service's ASGI app over HTTP: Granian, a parent process and its worker processes.

Granian parses HTTP and writes answers in Rust, off the GIL; the app still runs as ASGI on
a uvloop event loop in each worker, so nothing in the app depends on the server. Measured
on the registration path it costs less CPU per request than uvicorn with httptools
(bench/RESULTS.md, 2026-11-30 07:25).

What `crm up`, Kubernetes and the fault tests rely on, kept as uvicorn did it:
- workers are started with ``spawn`` (each imports the app afresh and holds nothing of
  the parent), so they show up as ``multiprocessing.spawn`` processes;
- a worker that dies is replaced by the parent (the other keeps serving); one that dies
  again within seconds ends the parent with status 1, for the supervisor to restart;
- SIGTERM or SIGINT to the parent stops the workers gracefully: each stops accepting,
  finishes what it serves and runs the app's shutdown (group commit drained, relay
  stopped), and is killed only after ``STOP_TIMEOUT``;
- no access log (the app's metrics count requests); the server's own lines go through
  the service's log configuration.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_shared.service import ServiceDefinition
    from crm_shared.settings import Settings

# Seconds a worker gets to finish its requests and its shutdown after SIGTERM; below the
# 15 s `crm up` (ServiceProcess.stop_timeout) and Kubernetes give the whole process.
STOP_TIMEOUT = 10

# The server's own loggers, sent to the root logger that `configure_logging` set up.
SERVER_LOGGING: dict[str, Any] = {
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": False},
    }
}


def build_app(factory: str) -> Any:
    """The app ``factory`` ("module:function") returns, built in the worker's event loop
    while it runs, as uvicorn builds it: clients such as aiokafka's must be created in a
    running loop. Granian sets the worker's loop as current before it loads the app."""
    from crm_shared.service import load

    make = load(factory)

    async def build() -> Any:
        return make()

    return asyncio.get_event_loop().run_until_complete(build())


def serve_http(definition: ServiceDefinition, settings: Settings) -> None:
    """Serves ``definition``'s app until SIGTERM or SIGINT; returns when all have stopped."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    from crm_shared.observability.logging import configure_logging

    multiprocessing.set_start_method("spawn", force=True)
    server = Granian(
        definition.app_factory,
        address=settings.host,
        port=settings.port_of(definition.name),
        interface=Interfaces.ASGI,
        workers=definition.workers(settings.workers),
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        log_level=LogLevels(settings.log_level.lower()),
        log_dictconfig=SERVER_LOGGING,
        log_access=False,
        respawn_failed_workers=True,
        workers_kill_timeout=STOP_TIMEOUT,
    )
    # After the server's own set-up, which replaces the logging configuration.
    configure_logging(definition.name, settings.log_level, settings.log_json)
    server.serve(target_loader=build_app)
