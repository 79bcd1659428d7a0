"""The funnel of a pipeline: how many deals reach each stage, what share goes on to the
next, and the median time a deal spends in each stage, read from the states' intervals.

The deals are the cohort created in the period, so a rate compares like with like (deals
closing in a period were mostly created before it and would mix cohorts). A deal that
skips a stage has passed it: reaching a later stage counts for every earlier one. Only
finished stays count towards the median: a deal still in a stage would shorten it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from statistics import median

from crm_sales.domain.opportunity_states import OpportunityState
from crm_sales.domain.periods import Period
from crm_sales.domain.pipeline import Pipeline

TENTH = Decimal("0.1")
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class FunnelStep:
    stage: str
    reached: int
    # Percent of the deals that reached this stage and reached the next, to one decimal.
    converted_to_next: Decimal | None
    median_days_in_stage: Decimal | None


@dataclass(frozen=True, slots=True)
class Funnel:
    pipeline: str
    period: Period
    deals: int
    steps: tuple[FunnelStep, ...]


def funnel(rows: Iterable[OpportunityState], pipeline: Pipeline, period: Period) -> Funnel:
    # The open stages in order, then the won stage; a lost deal stops where it was lost.
    sequence = [stage.name for stage in (*pipeline.open_stages, pipeline.won_stage)]
    histories: defaultdict[str, list[OpportunityState]] = defaultdict(list)
    for row in rows:
        if row.pipeline == pipeline.name and row.created_at.date() in period:
            histories[row.opportunity_id].append(row)
    reached = [0] * len(sequence)
    stays: defaultdict[str, list[Decimal]] = defaultdict(list)
    for history in histories.values():
        history.sort(key=lambda row: row.valid_from)
        furthest = max(
            (sequence.index(row.stage) for row in history if row.stage in sequence), default=-1
        )
        for position in range(furthest + 1):
            reached[position] += 1
        for stage, days in _finished_stays(history).items():
            stays[stage].append(days)
    steps = tuple(
        FunnelStep(
            stage=stage,
            reached=reached[position],
            converted_to_next=(
                _percent(reached[position + 1], reached[position])
                if position + 1 < len(sequence)
                else None
            ),
            median_days_in_stage=(
                median(stays[stage]).quantize(TENTH, ROUND_HALF_EVEN) if stays[stage] else None
            ),
        )
        for position, stage in enumerate(sequence)
    )
    return Funnel(pipeline.name, period, len(histories), steps)


def _finished_stays(history: list[OpportunityState]) -> dict[str, Decimal]:
    """Days in each stage the deal has left, adding up returns to a stage. Consecutive
    states in one stage (an amount changed) are one stay."""
    days: defaultdict[str, timedelta] = defaultdict(timedelta)
    entered = history[0].valid_from
    for row, following in pairwise(history):
        if following.stage != row.stage:
            days[row.stage] += following.valid_from - entered
            entered = following.valid_from
    return {stage: _in_days(spent) for stage, spent in days.items()}


def _in_days(spent: timedelta) -> Decimal:
    # Whole microseconds, so no float enters the arithmetic.
    return Decimal(spent // MICROSECOND) / Decimal(DAY // MICROSECOND)


def _percent(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) * 100 / whole).quantize(TENTH, ROUND_HALF_EVEN)
