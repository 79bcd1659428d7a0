"""Logs on stderr, each line carrying the current correlation id: JSON for a log collector,
or readable lines for a person at a terminal (`make up`).

Which one, unless the setting says (``CRM_LOG_JSON``): readable when stderr is a terminal,
JSON otherwise. Each process decides for itself: the services `crm up` starts inherit its
terminal, a container's output goes to a collector.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from crm_shared.observability.context import correlation_id
from crm_shared.observability.repeats import RepeatedRecordsFilter


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


class ReadableFormatter(logging.Formatter):
    """``12:01:03.042 WARNING contacts crm_shared.messaging.relay: <message> [<correlation id>]``"""

    def __init__(self, service: str) -> None:
        super().__init__(
            f"%(asctime)s.%(msecs)03d %(levelname)-7s {service} %(name)s: %(message)s",
            datefmt="%H:%M:%S",
        )

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        correlation = getattr(record, "correlation_id", None)
        return f"{line} [{correlation}]" if correlation else line


def json_formatter(service: str) -> JsonFormatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"service": service},
    )


def configure_logging(service: str, level: str = "INFO", json: bool | None = None) -> None:
    """Logs of ``service`` to stderr; ``json`` None: JSON unless stderr is a terminal."""
    stream = sys.stderr
    if json is None:
        json = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_CorrelationFilter())
    # aiokafka logs every reconnection attempt (10 a second per client) while a broker is down.
    handler.addFilter(RepeatedRecordsFilter(("aiokafka",)))
    handler.setFormatter(json_formatter(service) if json else ReadableFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Access logs are replaced by our own metrics; aiokafka is chatty at INFO.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
