"""The pipeline forecast for a period, per group, as it stood at any instant.

Figures are cumulative, as in Salesforce's collaborative forecasts: the commit forecast
includes what is already closed, the best-case forecast includes the commit forecast. A
deal belongs to the period by its close date. Sums are kept exact and each figure is
rounded once, to the report currency's minor units, when the line is made.

The arithmetic works on ``DealTotals``: the deals of a group that count alike (same
status, category and currency, and for a settled deal the close date whose rate converts
it), summed. ``forecast`` sums the deals it is given itself (``deal_totals``); a read model
over many deals sums them where they are (in SQL, as ``deal_totals`` does) and hands the
totals to ``forecast_of_totals``, so a report adds up a few totals instead of every deal.
Converting a sum equals summing the converted deals: a rate is one factor per bucket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from crm_sales.domain.exchange_rates import ExchangeRates
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import DealStatus, OpportunityState, states_at
from crm_sales.domain.periods import Period
from crm_sales.domain.pipeline import ForecastCategory

TENTH = Decimal("0.1")
HUNDRED = Decimal(100)


class GroupBy(StrEnum):
    OWNER = "owner"
    TEAM = "team"
    PIPELINE = "pipeline"
    STAGE = "stage"


@dataclass(frozen=True, slots=True)
class Quota:
    """What ``who`` (an owner or a team, as ``per`` says) is to close in the period."""

    per: GroupBy
    who: str
    period: Period
    amount: Money


@dataclass(frozen=True, slots=True)
class ForecastLine:
    group: str
    closed: Money
    commit_forecast: Money
    best_case_forecast: Money
    open_pipeline: Money
    weighted_pipeline: Money
    open_count: int
    won_count: int
    lost_count: int
    won_amount: Money
    lost_amount: Money
    # Percentages to one decimal; None where nothing was decided (no won or lost deal).
    win_rate_by_count: Decimal | None
    win_rate_by_amount: Decimal | None
    average_sales_cycle_days: Decimal | None
    quota: Money | None
    attainment: Decimal | None
    gap_to_quota: Money | None


@dataclass(frozen=True, slots=True)
class Forecast:
    period: Period
    group_by: GroupBy
    currency: str
    as_of: datetime
    lines: tuple[ForecastLine, ...]
    total: ForecastLine


@dataclass(frozen=True, slots=True)
class DealTotals:
    """Deals of one group that count alike, summed in their own currency."""

    group: str
    status: DealStatus
    category: ForecastCategory
    amount: Money  # the deals' amounts
    weighted: Decimal  # their amounts times their win probabilities, over 100
    count: int
    cycle_days: int  # for won deals: the days from creation to close, summed
    # A settled deal converts at its close date's rate: the date, or None for open deals
    # (the report's day) and for settled ones already in the report's currency.
    close_date: date | None = None


def deal_totals(
    rows: Iterable[OpportunityState], period: Period, group_by: GroupBy
) -> list[DealTotals]:
    """The totals of the deals closing in the period (the rows are states at one instant)."""
    sums: dict[tuple[str, DealStatus, ForecastCategory, str, date | None], list[Decimal]] = {}
    for row in rows:
        if row.close_date not in period:
            continue
        settled_on = None if row.status is DealStatus.OPEN else row.close_date
        key = (_group_of(row, group_by), row.status, row.category, row.amount.currency, settled_on)
        amount, weighted, count, cycle = sums.setdefault(key, [Decimal(0)] * 4)
        cycle_days = (row.close_date - row.created_at.astimezone(UTC).date()).days
        sums[key] = [
            amount + row.amount.amount,
            weighted + row.amount.amount * row.probability / HUNDRED,
            count + 1,
            cycle + (cycle_days if row.status is DealStatus.WON else 0),
        ]
    return [
        DealTotals(
            group,
            status,
            category,
            Money(amount, currency),
            weighted,
            int(count),
            int(cycle),
            settled_on,
        )
        for (group, status, category, currency, settled_on), (
            amount,
            weighted,
            count,
            cycle,
        ) in sums.items()
    ]


@dataclass
class _Tally:
    """One group's exact sums while the deals are added up."""

    closed: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    open_pipeline: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    open_count: int = 0
    lost: Decimal = Decimal(0)
    lost_count: int = 0
    won_count: int = 0
    cycle_days: int = 0
    quota: Decimal | None = None

    def add(self, totals: DealTotals, value: Decimal, weighted: Decimal) -> None:
        """``value`` and ``weighted``: the totals' amount and weighted amount, converted."""
        match totals.status:
            case DealStatus.WON:
                self.closed += value
                self.won_count += totals.count
                self.cycle_days += totals.cycle_days
            case DealStatus.LOST:
                self.lost += value
                self.lost_count += totals.count
            case DealStatus.OPEN if totals.category is not ForecastCategory.OMITTED:
                self.open_pipeline += value
                self.weighted += weighted
                self.open_count += totals.count
                if totals.category is ForecastCategory.COMMIT:
                    self.commit += value
                elif totals.category is ForecastCategory.BEST_CASE:
                    self.best_case += value

    def add_quota(self, amount: Decimal) -> None:
        self.quota = (self.quota or Decimal(0)) + amount

    def merged(self, other: _Tally) -> _Tally:
        return _Tally(
            self.closed + other.closed,
            self.commit + other.commit,
            self.best_case + other.best_case,
            self.open_pipeline + other.open_pipeline,
            self.weighted + other.weighted,
            self.open_count + other.open_count,
            self.lost + other.lost,
            self.lost_count + other.lost_count,
            self.won_count + other.won_count,
            self.cycle_days + other.cycle_days,
            None
            if self.quota is None and other.quota is None
            else (self.quota or Decimal(0)) + (other.quota or Decimal(0)),
        )

    def line(self, group: str, currency: str) -> ForecastLine:
        def money(amount: Decimal) -> Money:
            return Money(amount, currency).rounded()

        won_count = self.won_count
        commit_forecast = self.closed + self.commit
        return ForecastLine(
            group=group,
            closed=money(self.closed),
            commit_forecast=money(commit_forecast),
            best_case_forecast=money(commit_forecast + self.best_case),
            open_pipeline=money(self.open_pipeline),
            weighted_pipeline=money(self.weighted),
            open_count=self.open_count,
            won_count=won_count,
            lost_count=self.lost_count,
            won_amount=money(self.closed),
            lost_amount=money(self.lost),
            win_rate_by_count=_percent(Decimal(won_count), Decimal(won_count + self.lost_count)),
            win_rate_by_amount=_percent(self.closed, self.closed + self.lost),
            average_sales_cycle_days=(
                (Decimal(self.cycle_days) / won_count).quantize(TENTH, ROUND_HALF_EVEN)
                if won_count
                else None
            ),
            quota=None if self.quota is None else money(self.quota),
            attainment=None if self.quota is None else _percent(self.closed, self.quota),
            gap_to_quota=None if self.quota is None else money(self.quota - self.closed),
        )


def forecast(
    rows: Iterable[OpportunityState],
    period: Period,
    group_by: GroupBy,
    currency: str,
    as_of: datetime,
    rates: ExchangeRates,
    quotas: Sequence[Quota] = (),
) -> Forecast:
    """``as_of`` picks the states valid at that instant and the rates recorded by then.
    Quotas apply when grouping by owner or team; one in another currency converts at the
    rate in force on the report's day."""
    totals = deal_totals(states_at(rows, as_of).values(), period, group_by)
    return forecast_of_totals(totals, period, group_by, currency, as_of, rates, quotas)


def forecast_of_totals(
    totals: Iterable[DealTotals],
    period: Period,
    group_by: GroupBy,
    currency: str,
    as_of: datetime,
    rates: ExchangeRates,
    quotas: Sequence[Quota] = (),
) -> Forecast:
    """The forecast of deals already summed (``deal_totals``) at the instant ``as_of``."""
    tallies: defaultdict[str, _Tally] = defaultdict(_Tally)
    report_day = as_of.astimezone(UTC).date()
    for bucket in totals:
        # An open deal converts at the report's day's rate, a settled one at its close date's.
        on = bucket.close_date or report_day
        factor = rates.convert(
            Money(Decimal(1), bucket.amount.currency), currency, on, known_at=as_of
        ).amount
        tallies[bucket.group].add(bucket, bucket.amount.amount * factor, bucket.weighted * factor)
    for quota in quotas:
        if quota.per is group_by and quota.period == period:
            converted = rates.convert(
                quota.amount, currency, as_of.astimezone(UTC).date(), known_at=as_of
            )
            tallies[quota.who].add_quota(converted.amount)
    total = _Tally()
    for tally in tallies.values():
        total = total.merged(tally)
    return Forecast(
        period=period,
        group_by=group_by,
        currency=currency,
        as_of=as_of,
        lines=tuple(tallies[group].line(group, currency) for group in sorted(tallies)),
        total=total.line("total", currency),
    )


def _group_of(row: OpportunityState, group_by: GroupBy) -> str:
    match group_by:
        case GroupBy.OWNER:
            return row.owner
        case GroupBy.TEAM:
            return row.team
        case GroupBy.PIPELINE:
            return row.pipeline
        case GroupBy.STAGE:
            return row.stage


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == 0:
        return None
    return (part * HUNDRED / whole).quantize(TENTH, ROUND_HALF_EVEN)
