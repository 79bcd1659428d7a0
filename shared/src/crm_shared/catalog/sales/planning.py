"""Exchange rates and quotas: what the sales service's reports convert and compare with.

An exchange rate is dated (in force from ``effective`` until the currency's next dated
rate) and kept as events, so a report for a past instant uses the rates known then
(``crm_sales.domain.exchange_rates``). A rate entered again for the same date corrects
it from its own recording on.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from crm_shared.events.catalog import EventData, event_type


@event_type("sales", "exchange_rate", "recorded")
class ExchangeRateRecorded(EventData):
    """One unit of ``currency`` is worth ``rate`` units of ``corporate_currency`` from
    ``effective`` on. The aggregate is the currency's rates (one stream per currency)."""

    currency: str = Field(description="ISO 4217")
    effective: date
    rate: Decimal = Field(description="Corporate currency units per unit of currency (> 0)")
    corporate_currency: str = Field(description="ISO 4217")
    example = {
        "currency": "EUR",
        "effective": "2026-12-01",
        "rate": "1.0842",
        "corporate_currency": "USD",
    }


@event_type("sales", "quota", "set")
class QuotaSet(EventData):
    """A sales target for one owner or one team over one period, replacing the previous
    one. The aggregate is the (owner or team, period) quota."""

    owner: str | None = Field(None, description="The rep, for an owner's quota")
    team: str | None = Field(None, description="The team, for a team's quota")
    period: str = Field(description="2026, 2026-Q4 or 2026-11")
    amount: Decimal = Field(description="In the currency given")
    currency: str = Field(description="ISO 4217")
    department: str
    example = {
        "owner": "alice",
        "team": None,
        "period": "2026-Q4",
        "amount": "150000.00",
        "currency": "USD",
        "department": "sales",
    }
