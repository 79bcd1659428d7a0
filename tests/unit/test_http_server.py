"""`crm serve` runs each service's app under Granian, built as the app expects."""

from __future__ import annotations

import asyncio

from crm_shared.infra.http_server import build_app


def app_needing_a_running_loop() -> asyncio.AbstractEventLoop:
    # What the projections app does: its Kafka clients are made in a running loop.
    return asyncio.get_running_loop()


def test_the_app_is_built_in_the_workers_event_loop_while_it_runs() -> None:
    loop = asyncio.new_event_loop()  # as Granian leaves a worker's loop: current, idle
    asyncio.set_event_loop(loop)
    try:
        assert build_app(f"{__name__}:app_needing_a_running_loop") is loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()
