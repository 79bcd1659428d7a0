"""What a deal is worth in the report's currency, at the rate the forecast rules choose.

An open deal is a bet on the future, so it converts at the rate in force on the day the
report is for; a won or lost deal is settled, so it converts at the rate in force on its
close date. Either way, only rates recorded by the report's instant count.
"""

from __future__ import annotations

from datetime import UTC, datetime

from crm_sales.domain.exchange_rates import ExchangeRates
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import DealStatus, OpportunityState


def deal_value(
    row: OpportunityState, currency: str, rates: ExchangeRates, as_of: datetime
) -> Money:
    """Unrounded; ``as_of`` is a UTC instant, and its UTC date is the report's day."""
    on = as_of.astimezone(UTC).date() if row.status is DealStatus.OPEN else row.close_date
    return rates.convert(row.amount, currency, on, known_at=as_of)
