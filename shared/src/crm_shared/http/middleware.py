"""One pure-ASGI middleware: correlation id, body size limit, strict JSON, security
headers, metrics, and the answer to every error no handler took.

Pure ASGI (not BaseHTTPMiddleware) so it costs little on the hot path.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.http.strict_json import has_duplicate_keys, parsed_as_json
from crm_shared.observability.context import correlation_id
from crm_shared.observability.metrics import HTTP_REQUEST_SECONDS

logger = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def _problem(status: int, code: str, title: str, **extra: str) -> bytes:
    return orjson.dumps(
        {
            "type": f"https://crm.dev/problems/{code}",
            "title": title,
            "status": status,
            "code": code,
            **extra,
        }
    )


TOO_LARGE = (413, "payload_too_large", "The request body is too large")
DUPLICATE_KEYS = (400, "malformed_json", "The request body names a JSON member twice")
INTERNAL_ERROR = (500, "internal_error", "Internal server error")


def new_correlation_id() -> str:
    """A random (version 4) UUID as text: what ``str(uuid.uuid4())`` gives, without
    building a ``UUID`` object on every request."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


class ResponseAborted(RuntimeError):
    """An unhandled error after the response had begun: the server closes the connection."""


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def _log_unhandled(error: BaseException, scope: Scope) -> None:
    """The exception's type and where it was raised, for each exception in the chain; never
    its message (it may quote values from the request), nor the request's body or query."""
    parts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(parts) < 10:
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        parts.insert(0, f"{type(current).__module__}.{type(current).__qualname__}\n{frames}")
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    logger.error(
        "unhandled %s in %s %s; traceback (most recent call last):\n%s",
        type(error).__qualname__,
        scope.get("method", "-"),
        _route(scope),
        "\nwhich led to\n".join(parts),
    )


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # The histogram's child per (method, route, status): Prometheus's ``labels()``
        # checks and locks on every call, a dict lookup does not.
        self._timers: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope["headers"])
        cid = incoming.get(b"x-correlation-id", b"").decode("latin-1")[:128] or new_correlation_id()
        token = correlation_id.set(cid)
        status = 500
        declared = incoming.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._answer(send, cid, *TOO_LARGE)
            correlation_id.reset(token)
            return
        received = 0
        rejected = responded = False
        json_chunks: list[bytes] | None = (
            [] if parsed_as_json(incoming.get(b"content-type")) else None
        )

        async def checked_receive() -> Message:
            # A body without a declared length is counted as it arrives; past the limit
            # the client gets its 413 and the app sees a disconnect and stops. A JSON body
            # is checked once complete, before the app parses it, the same way.
            nonlocal received, rejected, status
            message = await receive()
            if message["type"] != "http.request" or rejected:
                return message
            chunk = message.get("body", b"")
            received += len(chunk)
            refusal: tuple[int, str, str] | None = None
            if received > self.max_body_bytes:
                refusal = TOO_LARGE
            elif json_chunks is not None:
                json_chunks.append(chunk)
                if not message.get("more_body", False) and has_duplicate_keys(
                    b"".join(json_chunks)
                ):
                    refusal = DUPLICATE_KEYS
            if refusal is not None:
                rejected, status = True, refusal[0]
                await self._answer(send, cid, *refusal)
                return {"type": "http.disconnect"}
            return message

        is_docs = scope["path"].startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            nonlocal status, responded
            if rejected:
                return
            if message["type"] == "http.response.start":
                responded = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", cid.encode("latin-1")))
                if not is_docs:
                    headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, checked_receive, send_with_headers)
        except Exception as error:
            if not rejected:  # else the client has its answer; the app saw the disconnect
                status = 500
                _log_unhandled(error, scope)
                if responded:
                    raise ResponseAborted("see the log line before") from None
                await self._answer(
                    send,
                    cid,
                    *INTERNAL_ERROR,
                    detail="quote the correlation_id when you report this",
                    correlation_id=cid,
                )
        finally:
            self._timer(scope["method"], _route(scope), status).observe(
                time.perf_counter() - started
            )
            correlation_id.reset(token)

    def _timer(self, method: str, route: str, status: int) -> Any:
        key = (method, route, status)
        timer = self._timers.get(key)
        if timer is None:
            timer = HTTP_REQUEST_SECONDS.labels(method, route, str(status))
            self._timers[key] = timer
        return timer

    @staticmethod
    async def _answer(
        send: Send, cid: str, status: int, code: str, title: str, **extra: str
    ) -> None:
        """A problem answered here, for requests no route may see (or one that failed)."""
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"x-correlation-id", cid.encode("latin-1")),
                    *SECURITY_HEADERS,
                ],
            }
        )
        body = _problem(status, code, title, **extra)
        await send({"type": "http.response.body", "body": body})
