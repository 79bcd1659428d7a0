"""A modest registration load over HTTP, each write marked so it can be found again, and
the tally of what became of the acknowledged ones."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg

# A write that fails (connection reset, 5xx, timeout) is sent again with the same
# Idempotency-Key, as a careful client would; it is acknowledged once it gets a 201.
RETRY_FOR_SECONDS = 30.0
RETRY_PAUSE = 0.5


@dataclass
class Load:
    contacts_url: str
    token: str
    per_second: float
    run: str = field(default_factory=lambda: f"fault-{uuid.uuid4().hex[:8]}")
    acknowledged: dict[str, str] = field(default_factory=dict)  # marker -> contact id
    given_up: set[str] = field(default_factory=set)
    failed_attempts: int = 0
    _sent: int = 0
    _writes: set[asyncio.Task[None]] = field(default_factory=set)
    _pacer: asyncio.Task[None] | None = None
    _client: httpx.AsyncClient | None = None

    @property
    def sent(self) -> int:
        return self._sent

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.contacts_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10.0,
            limits=httpx.Limits(max_connections=200),
        )
        self._pacer = asyncio.create_task(self._pace())

    async def stop(self) -> None:
        """Stops sending new writes and waits for those in flight (retries included)."""
        assert self._pacer is not None and self._client is not None
        self._pacer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pacer
        await asyncio.gather(*self._writes)
        await self._client.aclose()

    async def _pace(self) -> None:
        # A write every 1/rate s whatever the answers take: a stall piles up, as it would.
        started = time.monotonic()
        while True:
            self._sent += 1
            marker = f"{self.run}-{self._sent:05d}"
            task = asyncio.create_task(self._write(marker))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
            await asyncio.sleep(max(started + self._sent / self.per_second - time.monotonic(), 0))

    async def _write(self, marker: str) -> None:
        assert self._client is not None
        body = {"first_name": "Fault", "source": marker, "tags": ["fault"]}
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while time.monotonic() < deadline:
            try:
                answer = await self._client.post(
                    "/v1/contacts", json=body, headers={"Idempotency-Key": marker}
                )
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code == 201:
                self.acknowledged[marker] = answer.json()["id"]
                return
            if answer is not None and answer.status_code < 500 and answer.status_code != 409:
                raise AssertionError(f"{marker}: {answer.status_code} {answer.text}")
            self.failed_attempts += 1
            await asyncio.sleep(RETRY_PAUSE)
        self.given_up.add(marker)


@dataclass(frozen=True)
class Tally:
    """Acknowledged writes missing from the event store or the 360, and writes seen twice."""

    acknowledged: int
    lost_from_event_store: list[str]
    lost_from_360: list[str]
    doubled: list[str]

    @property
    def converged(self) -> bool:
        return not self.lost_from_event_store and not self.lost_from_360


async def tally(database_url: str, load: Load) -> Tally:
    pattern = f"{load.run}-%"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        # Every contact registered with the run's marker, however many times (the marker
        # is not personal data, so it is stored in clear).
        cur = await conn.execute(
            "SELECT convert_from(state, 'UTF8')::jsonb #>> '{data,source}' AS marker,"
            " count(DISTINCT originator_id)"
            " FROM contacts.contacts_events"
            " WHERE topic LIKE 'crm.contacts.contact.registered%%'"
            " AND convert_from(state, 'UTF8')::jsonb #>> '{data,source}' LIKE %s"
            " GROUP BY 1",
            (pattern,),
        )
        stored = Counter({marker: n for marker, n in await cur.fetchall()})
        cur = await conn.execute(
            "SELECT doc #>> '{profile,source}', count(*) FROM projections.customers"
            " WHERE doc #>> '{profile,source}' LIKE %s GROUP BY 1",
            (pattern,),
        )
        shown = Counter({marker: n for marker, n in await cur.fetchall()})
    acknowledged = set(load.acknowledged)
    doubled = {m for m, n in stored.items() if n > 1} | {m for m, n in shown.items() if n > 1}
    return Tally(
        acknowledged=len(acknowledged),
        lost_from_event_store=sorted(acknowledged - set(stored)),
        lost_from_360=sorted(acknowledged - set(shown)),
        doubled=sorted(doubled),
    )


async def converged(database_url: str, load: Load, within: float) -> tuple[Tally, float]:
    """Polls the tally until nothing acknowledged is missing, or ``within`` s have passed;
    returns the last tally and how long it took (from the end of the load)."""
    started = time.monotonic()
    while True:
        result = await tally(database_url, load)
        elapsed = time.monotonic() - started
        if result.converged or elapsed > within:
            return result, elapsed
        await asyncio.sleep(0.5)
