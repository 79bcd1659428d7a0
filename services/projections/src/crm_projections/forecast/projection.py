"""Applies the sales events to the forecast's tables, in the forecast's own schema.

A batch is folded in memory (``states``): the current states of the deals and quotas it
touches are read in one query each, the events are folded in Python, and the intervals
are written back with one statement per kind of write. Exchange rates and pipelines are
kept as they come: a rate with its recording time, a pipeline as it now is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson

from crm_projections.forecast.states import (
    OPPORTUNITY_EVENTS,
    DealState,
    Event,
    QuotaState,
    fold_deals,
    fold_quotas,
    storable,
)
from crm_sales.domain.opportunity_states import DealStatus
from crm_shared.catalog.sales.opportunities import PipelineChanged, PipelineDefined
from crm_shared.catalog.sales.planning import ExchangeRateRecorded, QuotaSet
from crm_shared.messaging.topics import events_topic
from crm_shared.projections import ReadModel

if TYPE_CHECKING:
    from psycopg import AsyncConnection

# The live schema, the forecast's own: it is rebuilt and swapped without the 360.
SCHEMA = "forecast"
TABLES = ("deal_states", "quota_states", "exchange_rates", "pipelines")

DEAL_COLUMNS = (
    "opportunity_id, version, department, owner, team, pipeline_id, pipeline, stage, amount,"
    " currency, close_date, probability, category, status, created_at, valid_from, valid_to"
)
QUOTA_COLUMNS = (
    "quota_id, version, per, who, period, amount, currency, department, valid_from, valid_to"
)


def ddl(schema: str) -> tuple[str, ...]:
    return (
        # For the GiST index over a date and an interval (indexes below).
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".deal_states (
            opportunity_id uuid NOT NULL,
            version bigint NOT NULL,
            department text NOT NULL,
            owner text,
            team text,
            pipeline_id uuid NOT NULL,
            pipeline text NOT NULL,
            stage text NOT NULL,
            amount numeric NOT NULL,
            currency text NOT NULL,
            close_date date NOT NULL,
            probability int NOT NULL,
            category text NOT NULL,
            status text NOT NULL,
            created_at timestamptz NOT NULL,
            valid_from timestamptz NOT NULL,
            valid_to timestamptz,
            PRIMARY KEY (opportunity_id, version))""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".quota_states (
            quota_id uuid NOT NULL,
            version bigint NOT NULL,
            per text NOT NULL,
            who text NOT NULL,
            period text NOT NULL,
            amount numeric NOT NULL,
            currency text NOT NULL,
            department text NOT NULL,
            valid_from timestamptz NOT NULL,
            valid_to timestamptz,
            PRIMARY KEY (quota_id, version))""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".exchange_rates (
            event_id uuid PRIMARY KEY,
            currency text NOT NULL,
            effective date NOT NULL,
            rate numeric NOT NULL,
            corporate_currency text NOT NULL,
            recorded_at timestamptz NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS "{schema}".pipelines (
            pipeline_id uuid PRIMARY KEY,
            version bigint NOT NULL,
            name text NOT NULL,
            stages jsonb NOT NULL,
            department text NOT NULL)""",
    )


def indexes(schema: str) -> tuple[str, ...]:
    """What the queries need; the fold reads only by primary key (a rebuild adds these last)."""
    deals = f'"{schema}".deal_states'
    return (
        # The forecast now: the current states of the deals closing in the period.
        f"CREATE INDEX IF NOT EXISTS deal_states_current ON {deals} (close_date)"
        " WHERE valid_to IS NULL",
        # The forecast as of an instant: one range query over the close dates and the
        # intervals together, whatever the length of the deals' histories.
        f"CREATE INDEX IF NOT EXISTS deal_states_in_force ON {deals}"
        " USING gist (close_date, tstzrange(valid_from, valid_to))",
        # The funnel: a pipeline's cohort of deals created in a period, every state.
        f"CREATE INDEX IF NOT EXISTS deal_states_cohort ON {deals} (pipeline_id, created_at)",
    )


def deal_state(row: Sequence[Any]) -> DealState:
    """A row of ``DEAL_COLUMNS`` as the fold's state."""
    values = list(row)
    values[13] = DealStatus(values[13])
    return DealState(*values)


def _deal_row(state: DealState) -> tuple[Any, ...]:
    return (
        state.opportunity_id,
        state.version,
        state.department,
        state.owner,
        state.team,
        state.pipeline_id,
        state.pipeline,
        state.stage,
        state.amount,
        state.currency,
        state.close_date,
        state.probability,
        state.category,
        str(state.status),
        state.created_at,
        state.valid_from,
        state.valid_to,
    )


def _quota_row(state: QuotaState) -> tuple[Any, ...]:
    return (
        state.quota_id,
        state.version,
        state.per,
        state.who,
        state.period,
        state.amount,
        state.currency,
        state.department,
        state.valid_from,
        state.valid_to,
    )


class ForecastProjection(ReadModel):
    name = "forecast"
    topics = (events_topic("sales"),)
    handles = (
        *OPPORTUNITY_EVENTS,
        QuotaSet,
        ExchangeRateRecorded,
        PipelineDefined,
        PipelineChanged,
    )
    schema = SCHEMA
    tables = TABLES

    def __init__(self, schema: str = SCHEMA, *, indexed: bool = True) -> None:
        super().__init__(schema, indexed=indexed)
        self.ddl = ddl(schema)
        self.indexes = indexes(schema)
        self.deals = f'"{schema}".deal_states'
        self.quotas = f'"{schema}".quota_states'
        self.rates = f'"{schema}".exchange_rates'
        self.pipelines = f'"{schema}".pipelines'

    async def apply(self, conn: AsyncConnection[Any], events: Sequence[Event]) -> None:
        deal_events = [e for e in events if isinstance(e.data, OPPORTUNITY_EVENTS)]
        if deal_events:
            await self._apply_deals(conn, deal_events)
        quota_events = [e for e in events if isinstance(e.data, QuotaSet)]
        if quota_events:
            await self._apply_quotas(conn, quota_events)
        rates = [e for e in events if isinstance(e.data, ExchangeRateRecorded)]
        if rates:
            await self._apply_rates(conn, rates)
        pipelines = [e for e in events if isinstance(e.data, PipelineDefined | PipelineChanged)]
        if pipelines:
            await self._apply_pipelines(conn, pipelines)

    async def _apply_deals(self, conn: AsyncConnection[Any], events: list[Event]) -> None:
        ids = list({e.aggregate_id for e in events})
        cur = await conn.execute(
            f"SELECT {DEAL_COLUMNS} FROM {self.deals}"
            " WHERE opportunity_id = ANY(%s) AND valid_to IS NULL",
            (ids,),
        )
        current = {row[0]: deal_state(row) for row in await cur.fetchall()}
        intervals = fold_deals(current, events)
        await self._end(conn, self.deals, "opportunity_id", intervals.ended)
        if intervals.added:
            placeholders = ", ".join(["%s"] * 17)
            async with conn.cursor() as cur:
                await cur.executemany(
                    f"INSERT INTO {self.deals} ({DEAL_COLUMNS}) VALUES ({placeholders})",
                    [_deal_row(s) for s in intervals.added],
                )

    async def _apply_quotas(self, conn: AsyncConnection[Any], events: list[Event]) -> None:
        ids = list({e.aggregate_id for e in events})
        cur = await conn.execute(
            f"SELECT {QUOTA_COLUMNS} FROM {self.quotas}"
            " WHERE quota_id = ANY(%s) AND valid_to IS NULL",
            (ids,),
        )
        current = {row[0]: QuotaState(*row) for row in await cur.fetchall()}
        intervals = fold_quotas(current, events)
        await self._end(conn, self.quotas, "quota_id", intervals.ended)
        if intervals.added:
            placeholders = ", ".join(["%s"] * 10)
            async with conn.cursor() as cur:
                await cur.executemany(
                    f"INSERT INTO {self.quotas} ({QUOTA_COLUMNS}) VALUES ({placeholders})",
                    [_quota_row(s) for s in intervals.added],
                )

    async def _end(
        self,
        conn: AsyncConnection[Any],
        table: str,
        key: str,
        ended: dict[tuple[UUID, int], Any],
    ) -> None:
        if not ended:
            return
        ids, versions, instants = zip(*((k, v, t) for (k, v), t in ended.items()), strict=True)
        await conn.execute(
            f"UPDATE {table} AS s SET valid_to = e.valid_to"
            " FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[]) AS e(id, version, valid_to)"
            f" WHERE s.{key} = e.id AND s.version = e.version",
            (list(ids), list(versions), list(instants)),
        )

    async def _apply_rates(self, conn: AsyncConnection[Any], events: list[Event]) -> None:
        rows = []
        for event in events:
            data = event.data
            assert isinstance(data, ExchangeRateRecorded)
            rows.append(
                (
                    event.event_id,
                    storable(data.currency),
                    data.effective,
                    data.rate,
                    storable(data.corporate_currency),
                    event.time,
                )
            )
        async with conn.cursor() as cur:
            await cur.executemany(
                f"INSERT INTO {self.rates} (event_id, currency, effective, rate,"
                " corporate_currency, recorded_at) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (event_id) DO NOTHING",
                rows,
            )

    async def _apply_pipelines(self, conn: AsyncConnection[Any], events: list[Event]) -> None:
        for event in events:
            data = event.data
            if isinstance(data, PipelineDefined):
                stages = [stage.model_dump(mode="json") for stage in data.stages]
                await conn.execute(
                    f"INSERT INTO {self.pipelines} (pipeline_id, version, name, stages,"
                    " department) VALUES (%s, %s, %s, %s::jsonb, %s)"
                    " ON CONFLICT (pipeline_id) DO NOTHING",
                    (
                        event.aggregate_id,
                        event.version,
                        storable(data.name),
                        orjson.dumps(stages).decode(),
                        storable(data.department),
                    ),
                )
            elif isinstance(data, PipelineChanged):
                touched = data.model_fields_set
                name = storable(data.name) if "name" in touched and data.name else None
                stages_json = (
                    orjson.dumps([s.model_dump(mode="json") for s in data.stages]).decode()
                    if "stages" in touched and data.stages is not None
                    else None
                )
                await conn.execute(
                    f"UPDATE {self.pipelines} SET version = %s,"
                    " name = coalesce(%s, name), stages = coalesce(%s::jsonb, stages)"
                    " WHERE pipeline_id = %s",
                    (event.version, name, stages_json, event.aggregate_id),
                )
