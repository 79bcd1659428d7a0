"""The forecast's read side at scale: the current forecast and an ``as_of`` forecast over
N opportunities, each with a history of states.

    python -m bench.forecast [--deals 100000] [--states 10] [--rounds 50] [--database URL]

Loads the opportunities' states straight into the forecast's tables (what the consumer
would have written for their events: ``--states`` states per deal, so N times states events),
in one schema of a private embedded PostgreSQL (or of ``--database``), then times
``read_forecast`` (the routes' work without HTTP: the range queries and the sales domain's
arithmetic) for the current quarter now and as of a past instant. It prints p50 and p99
of the wall time and of this process's CPU time per query; on a busy machine only the
CPU figures mean anything, and the database's own CPU is not in them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from psycopg import AsyncConnection

from crm_projections.forecast.projection import DEAL_COLUMNS, SCHEMA, ForecastProjection
from crm_projections.forecast.reading import read_forecast
from crm_sales.domain.forecast import Forecast, GroupBy
from crm_sales.domain.periods import period

STAGES = (
    ("prospecting", 10, "pipeline"),
    ("qualification", 20, "pipeline"),
    ("proposal", 50, "best_case"),
    ("negotiation", 80, "commit"),
)
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)  # every recorded time is before it
AS_OF = datetime(2026, 9, 1, tzinfo=UTC)
PERIOD = "2026-Q4"


@dataclass(frozen=True)
class Timings:
    wall_ms: list[float]
    cpu_ms: list[float]

    def summary(self) -> dict[str, float]:
        return {
            "wall_p50_ms": _percentile(self.wall_ms, 50),
            "wall_p99_ms": _percentile(self.wall_ms, 99),
            "cpu_p50_ms": _percentile(self.cpu_ms, 50),
            "cpu_p99_ms": _percentile(self.cpu_ms, 99),
        }


def _percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def deal_states(deals: int, states: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """Rows of ``DEAL_COLUMNS``: each deal opened in 2026, moved through the stages (and
    amount changes) at increasing times, the last state open, a third won or lost."""
    rng = random.Random(seed)
    pipeline_id = UUID("1e2d3c4b-5a69-4788-9a6b-5c4d3e2f1a0b")
    for _ in range(deals):
        deal = uuid4()
        owner = f"rep{rng.randrange(50)}"
        team = f"team{rng.randrange(5)}"
        created = YEAR_START + timedelta(minutes=rng.randrange(300 * 24 * 60))
        close_date = date(2026, 1, 1) + timedelta(days=rng.randrange(540))
        amount = Decimal(rng.randrange(1000, 100000))
        instants = sorted(
            created + timedelta(minutes=rng.randrange(int((NOW - created).total_seconds() // 60)))
            for _ in range(states - 1)
        )
        starts = [created, *instants]
        ending = rng.random()
        for version, start in enumerate(starts, start=1):
            last = version == len(starts)
            stage, probability, category = STAGES[min(version - 1, len(STAGES) - 1)]
            status = "open"
            if last and ending < 0.2:
                stage, probability, category, status = "closed_won", 100, "closed", "won"
            elif last and ending < 0.33:
                stage, probability, category, status = "closed_lost", 0, "omitted", "lost"
            yield (
                deal,
                version,
                "sales",
                owner,
                team,
                pipeline_id,
                "new_business",
                stage,
                amount + version,  # every later state changes the amount a little
                "USD",
                close_date,
                probability,
                category,
                status,
                created,
                start,
                None if last else starts[version],
            )


async def load(database_url: str, deals: int, states: int) -> int:
    """The forecast's tables, filled with ``deals`` times ``states`` rows; returns the rows."""
    projection = ForecastProjection(SCHEMA, indexed=False)
    rows = 0
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await projection.setup(conn)
        await projection.drop(conn)
        async with (
            conn.cursor() as cur,
            cur.copy(f'COPY "{SCHEMA}".deal_states ({DEAL_COLUMNS}) FROM STDIN') as copy,
        ):
            for row in deal_states(deals, states):
                await copy.write_row(row)
                rows += 1
        await projection.create_indexes(conn)
        await conn.execute(f'ANALYZE "{SCHEMA}".deal_states')
    return rows


async def timed(rounds: int, query: Callable[[], Awaitable[Forecast]]) -> tuple[Timings, Forecast]:
    wall: list[float] = []
    cpu: list[float] = []
    report = await query()  # warms the plan cache and the connection
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        report = await query()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return Timings(wall, cpu), report


async def measure(database_url: str, rounds: int) -> dict[str, dict[str, float]]:
    """p50 and p99 of the current and the ``as_of`` forecast, and what each counted."""
    within = period(PERIOD)
    results: dict[str, dict[str, float]] = {}
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        for name, as_of in (("now", None), ("as_of", AS_OF)):

            async def query(as_of: datetime | None = as_of) -> Forecast:
                return await read_forecast(
                    conn, within, GroupBy.OWNER, "USD", as_of, NOW, departments=None
                )

            timings, report = await timed(rounds, query)
            total = report.total
            results[name] = timings.summary() | {
                "deals": float(total.open_count + total.won_count + total.lost_count)
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--states", type=int, default=10, help="events per deal")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a private one)")
    args = parser.parse_args()
    if args.database:
        asyncio.run(run(args.database, args.deals, args.states, args.rounds))
        return
    from bench.stack import free_port
    from crm_shared.infra.embedded_postgres import EmbeddedPostgres

    work = Path(tempfile.mkdtemp(prefix="crm-bench-forecast-"))
    work.chmod(0o755)
    postgres = EmbeddedPostgres(work / "pg", free_port())
    postgres.start()
    try:
        postgres.create_database("bench")
        asyncio.run(run(postgres.database_url("bench"), args.deals, args.states, args.rounds))
    finally:
        postgres.stop()


async def run(database_url: str, deals: int, states: int, rounds: int) -> dict[str, Any]:
    started = time.perf_counter()
    rows = await load(database_url, deals, states)
    print(f"loaded {deals:,} deals, {rows:,} states in {time.perf_counter() - started:.1f} s")
    results = await measure(database_url, rounds)
    for name, figures in results.items():
        print(
            f"forecast {name:<6} {PERIOD}: {figures['deals']:,.0f} deals counted;"
            f" wall p50 {figures['wall_p50_ms']:.1f} ms p99 {figures['wall_p99_ms']:.1f} ms;"
            f" CPU (this process) p50 {figures['cpu_p50_ms']:.1f} ms"
            f" p99 {figures['cpu_p99_ms']:.1f} ms"
        )
    return {"rows": rows, **results}


if __name__ == "__main__":
    main()
