"""What the API shows of exchange rates and quotas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from crm_sales.domain.currency_rates import CurrencyRates
from crm_sales.domain.quota import Quota, QuotaHolder


class RecordedRateView(BaseModel):
    effective: date = Field(description="In force from this date until the next dated rate")
    rate: Decimal = Field(description="Corporate currency units per unit of the currency")
    recorded_at: datetime
    corrected_at: datetime | None = Field(
        description="When a later rate for the same date replaced it (null: still in force)"
    )


class ExchangeRatesView(BaseModel):
    currency: str
    corporate_currency: str
    version: int
    rates: list[RecordedRateView] = Field(description="By date, then by recording")

    @classmethod
    def of(cls, rates: CurrencyRates, corporate: str) -> ExchangeRatesView:
        recorded = sorted(
            rates.against(corporate).rates, key=lambda r: (r.effective, r.recorded_at)
        )
        views = []
        for index, rate in enumerate(recorded):
            later = recorded[index + 1] if index + 1 < len(recorded) else None
            corrected = later.recorded_at if later and later.effective == rate.effective else None
            views.append(
                RecordedRateView(
                    effective=rate.effective,
                    rate=rate.rate,
                    recorded_at=rate.recorded_at,
                    corrected_at=corrected,
                )
            )
        return cls(
            currency=rates.currency,
            corporate_currency=corporate,
            version=rates.version,
            rates=views,
        )


class RateInForceView(BaseModel):
    currency: str
    corporate_currency: str
    date: date
    as_known_at: datetime
    rate: Decimal = Field(description="Corporate currency units per unit of the currency")


class QuotaView(BaseModel):
    owner: str | None
    team: str | None
    period: str
    amount: Decimal
    currency: str
    department: str
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, quota: Quota) -> QuotaView:
        return cls(
            owner=quota.who if quota.holder is QuotaHolder.OWNER else None,
            team=quota.who if quota.holder is QuotaHolder.TEAM else None,
            period=quota.period,
            amount=quota.amount,
            currency=quota.currency,
            department=quota.department,
            version=quota.version,
            updated_at=quota.last_modified,
        )
