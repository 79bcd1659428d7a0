"""wrk's script, run for real against a small local server: with paths, each request goes
to the next path in turn, and the body's ``__ALT__`` takes the next value each time the
paths start over (how the benchmark moves deals there and back)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.wrk import Load, Wrk, ensure_wrk

Seen = list[tuple[str, bytes]]


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    seen: Seen = []

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()


def test_requests_take_the_paths_in_turn_and_the_body_alternates(
    server: tuple[str, Seen],
) -> None:
    # As `make bench` does: wrk is installed when missing (apt-get, as root); where it
    # cannot be, the test fails with how to install it rather than checking nothing.
    wrk = Wrk(ensure_wrk())
    url, seen = server
    paths = ("/v1/opportunities/a/stage", "/v1/opportunities/b/stage", "/v1/opportunities/c/stage")
    load = Load(url, b'{"stage": "__ALT__"}', paths=paths, alternates=("proposal", "negotiation"))

    result = wrk.run(load, connections=1, seconds=1)

    assert result.ok >= 7 and result.failures == 0
    # wrk builds one request when a thread starts, unsent: the turns start one later.
    skipped = paths.index(seen[0][0])
    for n, (path, body) in enumerate(seen, start=skipped):
        assert path == paths[n % 3]
        expected = ("proposal", "negotiation")[(n // 3) % 2]
        assert body == b'{"stage": "%s"}' % expected.encode()
