"""A small book of deals, written by hand, on which the forecast specifications compute.

The corporate currency is USD. EUR is worth 1.10 USD from 2026-10-01 and 1.20 USD from
2026-11-15 (each rate recorded on the day it is for). Two instants matter: EARLIER
(2026-11-01 noon) and NOW (2026-11-30 noon). The period is 2026-Q4.

    deal  owner  currency, amount        history (recording times)
    A     ana    EUR 10,000 -> 11,000    proposal/best_case/50 % from 10-01; negotiation/
                                         commit/80 % and 11,000 from 11-20; closes 12-15
    B     ana    USD 20,000              negotiation/commit from 10-05; won 11-10
                                         (created 09-15: a 56-day sales cycle)
    C     dan    USD 5,000               prospecting/pipeline/10 %, closing 12-20, from
                                         10-10; its close date slips to 2027-01-15 on 11-25
    D     dan    EUR 8,000               proposal from 10-01; lost 10-20 (rate 1.10)
    E     ana    USD 12,000              created 11-05 in prospecting with the category
                                         set to commit by hand; moved to proposal on 11-12,
                                         where the category stays commit (probability 50)
    F     dan    USD 3,000               negotiation from 10-01; won 10-15 (created 10-01:
                                         a 14-day sales cycle)
    G     dan    USD 4,000               qualification, omitted by hand, closing 12-01
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from crm_sales.domain.exchange_rates import ExchangeRate, ExchangeRates
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import DealStatus, OpportunityState
from crm_sales.domain.periods import period
from crm_sales.domain.pipeline import NEW_BUSINESS, ForecastCategory
from crm_sales.domain.probability import category_set, moved_to, opened_at

Q4 = period("2026-Q4")
EARLIER = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


RATES = ExchangeRates(
    "USD",
    (
        ExchangeRate("EUR", date(2026, 10, 1), Decimal("1.10"), at(10, 1)),
        ExchangeRate("EUR", date(2026, 11, 15), Decimal("1.20"), at(11, 15)),
    ),
)


def state(
    deal: str,
    owner: str,
    amount: str,
    stage: str,
    close_date: date,
    created_at: datetime,
    valid_from: datetime,
    valid_to: datetime | None = None,
    *,
    probability: int | None = None,
    category: ForecastCategory | None = None,
) -> OpportunityState:
    """A deal in the new business pipeline, with its stage's defaults unless given."""
    value, currency = amount.split()
    default = NEW_BUSINESS.stage(stage)
    status = DealStatus.OPEN if default.outcome is None else DealStatus(default.outcome)
    return OpportunityState(
        opportunity_id=deal,
        owner=owner,
        team={"ana": "emea", "dan": "americas"}[owner],
        pipeline=NEW_BUSINESS.name,
        stage=stage,
        amount=Money(Decimal(value), currency),
        close_date=close_date,
        probability=default.probability if probability is None else probability,
        category=category or default.category,
        status=status,
        created_at=created_at,
        valid_from=valid_from,
        valid_to=valid_to,
    )


# E's forecast fields come from the rule itself: commit by hand, then a stage change.
_E_OPENED = category_set(
    opened_at(NEW_BUSINESS.stage("prospecting")),
    ForecastCategory.COMMIT,
    NEW_BUSINESS.stage("prospecting"),
)
_E_MOVED = moved_to(_E_OPENED, NEW_BUSINESS.stage("proposal"))

A1 = state("A", "ana", "10000 EUR", "proposal", date(2026, 12, 15), at(9, 1), at(10, 1), at(11, 20))
A2 = state("A", "ana", "11000 EUR", "negotiation", date(2026, 12, 15), at(9, 1), at(11, 20))
B1 = state(
    "B", "ana", "20000 USD", "negotiation", date(2026, 11, 30), at(9, 15), at(10, 5), at(11, 10)
)
B2 = state("B", "ana", "20000 USD", "closed_won", date(2026, 11, 10), at(9, 15), at(11, 10))
C1 = state(
    "C", "dan", "5000 USD", "prospecting", date(2026, 12, 20), at(10, 10), at(10, 10), at(11, 25)
)
C2 = state("C", "dan", "5000 USD", "prospecting", date(2027, 1, 15), at(10, 10), at(11, 25))
D1 = state("D", "dan", "8000 EUR", "proposal", date(2026, 10, 31), at(8, 1), at(10, 1), at(10, 20))
D2 = state("D", "dan", "8000 EUR", "closed_lost", date(2026, 10, 20), at(8, 1), at(10, 20))
E1 = state(
    "E", "ana", "12000 USD", "prospecting", date(2026, 12, 31), at(11, 5), at(11, 5), at(11, 12),
    probability=_E_OPENED.probability, category=_E_OPENED.category,
)  # fmt: skip
E2 = state(
    "E", "ana", "12000 USD", "proposal", date(2026, 12, 31), at(11, 5), at(11, 12),
    probability=_E_MOVED.probability, category=_E_MOVED.category,
)  # fmt: skip
F1 = state(
    "F", "dan", "3000 USD", "negotiation", date(2026, 10, 31), at(10, 1), at(10, 1), at(10, 15)
)
F2 = state("F", "dan", "3000 USD", "closed_won", date(2026, 10, 15), at(10, 1), at(10, 15))
G1 = state(
    "G", "dan", "4000 USD", "qualification", date(2026, 12, 1), at(10, 2), at(10, 2),
    category=ForecastCategory.OMITTED,
)  # fmt: skip

BOOK = (A1, A2, B1, B2, C1, C2, D1, D2, E1, E2, F1, F2, G1)
