"""What moved a period's forecast between two instants, per deal and in total.

Each deal in the period at either instant (by its close date) is compared as it stood at
``from_`` and at ``to``. Every change carries its effect on the deal's value in the
period, signed, in the report currency:

- new: a deal recorded after ``from_``: + its value;
- slipped in / slipped out: its close date moved into (+) or out of (-) the period;
- won: + its value, now closed; lost: - its value before, gone from the pipeline;
- category moved: its value, now in another category (the detail says which);
- amount changed: the difference in the deal's own currency, at ``to``'s rate;
- exchange rate: the earlier amount at ``to``'s rate less the same at ``from_``'s.

For a deal open at both instants, amount and exchange-rate effects add up to the whole
change of its value, so the totals explain the movement without a remainder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from crm_sales.domain.deal_value import deal_value
from crm_sales.domain.exchange_rates import ExchangeRates
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import DealStatus, OpportunityState, states_at
from crm_sales.domain.periods import Period
from crm_shared.domain import Invalid


class InvalidInterval(Invalid):
    code = "invalid_interval"


class ChangeKind(StrEnum):
    NEW = "new"
    SLIPPED_IN = "slipped_in"
    SLIPPED_OUT = "slipped_out"
    WON = "won"
    LOST = "lost"
    CATEGORY_MOVED = "category_moved"
    AMOUNT_CHANGED = "amount_changed"
    EXCHANGE_RATE = "exchange_rate"


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    effect: Money
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DealChanges:
    opportunity_id: str
    before: OpportunityState | None
    after: OpportunityState | None
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class ChangeTotal:
    kind: ChangeKind
    deals: int
    effect: Money


@dataclass(frozen=True, slots=True)
class ForecastChanges:
    period: Period
    from_: datetime
    to: datetime
    currency: str
    deals: tuple[DealChanges, ...]
    totals: tuple[ChangeTotal, ...]


def forecast_changes(
    rows: Iterable[OpportunityState],
    period: Period,
    from_: datetime,
    to: datetime,
    currency: str,
    rates: ExchangeRates,
) -> ForecastChanges:
    if not from_ < to:
        raise InvalidInterval("'from' comes before 'to'", field="from")
    rows = list(rows)
    before, after = states_at(rows, from_), states_at(rows, to)
    deals: list[DealChanges] = []
    sums: dict[ChangeKind, tuple[int, Decimal]] = {}
    for deal in sorted(before.keys() | after.keys()):
        was, now = _in_period(before.get(deal), period), _in_period(after.get(deal), period)
        if was is None and now is None:
            continue
        exact = _changes(was, now, before.get(deal), currency, rates, from_, to)
        if not exact:
            continue
        for kind, effect, _ in exact:
            count, total = sums.get(kind, (0, Decimal(0)))
            sums[kind] = (count + 1, total + effect)
        changes = tuple(
            Change(kind, Money(effect, currency).rounded(), detail)
            for kind, effect, detail in exact
        )
        deals.append(DealChanges(deal, before.get(deal), after.get(deal), changes))
    totals = tuple(
        ChangeTotal(kind, *_rounded(sums[kind], currency)) for kind in ChangeKind if kind in sums
    )
    return ForecastChanges(period, from_, to, currency, tuple(deals), totals)


_Exact = tuple[ChangeKind, Decimal, str]


def _changes(
    was: OpportunityState | None,
    now: OpportunityState | None,
    recorded_before: OpportunityState | None,
    currency: str,
    rates: ExchangeRates,
    from_: datetime,
    to: datetime,
) -> list[_Exact]:
    def value(row: OpportunityState, at: datetime) -> Decimal:
        return deal_value(row, currency, rates, at).amount

    if was is None and now is not None:
        kind = ChangeKind.NEW if recorded_before is None else ChangeKind.SLIPPED_IN
        return [(kind, value(now, to), "")]
    if was is not None and now is None:
        return [(ChangeKind.SLIPPED_OUT, -value(was, from_), "")]
    assert was is not None and now is not None
    if was.status is DealStatus.OPEN and now.status is DealStatus.WON:
        return [(ChangeKind.WON, value(now, to), "")]
    if was.status is DealStatus.OPEN and now.status is DealStatus.LOST:
        return [(ChangeKind.LOST, -value(was, from_), "")]
    changes: list[_Exact] = []
    if was.category is not now.category:
        detail = f"{was.category} -> {now.category}"
        changes.append((ChangeKind.CATEGORY_MOVED, value(now, to), detail))
    if was.amount != now.amount:
        changes.append((ChangeKind.AMOUNT_CHANGED, value(now, to) - value(was, to), ""))
    exchange_effect = value(was, to) - value(was, from_)
    if exchange_effect:
        changes.append((ChangeKind.EXCHANGE_RATE, exchange_effect, ""))
    return changes


def _in_period(row: OpportunityState | None, period: Period) -> OpportunityState | None:
    return row if row is not None and row.close_date in period else None


def _rounded(count_and_sum: tuple[int, Decimal], currency: str) -> tuple[int, Money]:
    count, total = count_and_sum
    return count, Money(total, currency).rounded()
