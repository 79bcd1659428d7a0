"""`python -m bench.forecast` at a small N over the session's real PostgreSQL: it loads the
states it says and its forecasts count the deals that were in the period then."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bench.forecast import AS_OF, NOW, deal_states, run
from crm_shared.infra.embedded_postgres import EmbeddedPostgres


def _closing_in_q4(rows: list[tuple[Any, ...]]) -> int:
    return sum(1 for row in rows if date(2026, 10, 1) <= row[10] < date(2027, 1, 1))


def _valid_at(rows: list[tuple[Any, ...]], instant: datetime) -> list[tuple[Any, ...]]:
    """Each deal's state at the instant (columns 15 and 16: valid_from, valid_to)."""
    return [r for r in rows if r[15] <= instant and (r[16] is None or instant < r[16])]


async def test_the_forecast_benchmark_runs_at_a_small_n_and_counts_every_deal_in_the_period(
    postgres: EmbeddedPostgres,
) -> None:
    postgres.create_database("bench_forecast")
    rows = list(deal_states(200, 5))

    results = await run(postgres.database_url("bench_forecast"), 200, 5, rounds=3)

    assert results["rows"] == 1000
    assert results["now"]["deals"] == _closing_in_q4(_valid_at(rows, NOW))
    assert results["as_of"]["deals"] == _closing_in_q4(_valid_at(rows, AS_OF))
    assert 0 < results["as_of"]["deals"] < 200
    assert results["now"]["cpu_p99_ms"] >= results["now"]["cpu_p50_ms"] > 0
