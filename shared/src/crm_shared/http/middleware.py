"""One pure-ASGI middleware: correlation id, body size limit, security headers, metrics.

Pure ASGI (not BaseHTTPMiddleware) so it costs little on the hot path.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.observability.context import correlation_id
from crm_shared.observability.metrics import HTTP_REQUEST_SECONDS

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def _problem(status: int, code: str, title: str) -> bytes:
    return orjson.dumps(
        {"type": f"https://crm.dev/problems/{code}", "title": title, "status": status, "code": code}
    )


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = dict(scope["headers"])
        cid = incoming.get(b"x-correlation-id", b"").decode("latin-1")[:128] or str(uuid.uuid4())
        token = correlation_id.set(cid)
        status = 500
        declared = incoming.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._reject_too_large(send, cid)
            correlation_id.reset(token)
            return
        received = 0
        rejected = False

        async def limited_receive() -> Message:
            # A body without a declared length is counted as it arrives; past the limit
            # the client gets its 413 and the app sees a disconnect and stops.
            nonlocal received, rejected, status
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes and not rejected:
                    rejected, status = True, 413
                    await self._reject_too_large(send, cid)
                    return {"type": "http.disconnect"}
            return message

        is_docs = scope["path"].startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if rejected:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", cid.encode("latin-1")))
                if not is_docs:
                    headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception:
            if not rejected:
                raise
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_REQUEST_SECONDS.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )
            correlation_id.reset(token)

    async def _reject_too_large(self, send: Send, cid: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"x-correlation-id", cid.encode("latin-1")),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send(
            {
                "type": "http.response.body",
                "body": _problem(413, "payload_too_large", "The request body is too large"),
            }
        )
