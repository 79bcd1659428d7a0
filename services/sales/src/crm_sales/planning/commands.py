"""Commands on exchange rates and quotas: the caller's intent, nothing about HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crm_sales.domain.quota import QuotaHolder


@dataclass(frozen=True, kw_only=True)
class PutExchangeRate:
    currency: str
    effective: date
    rate: Decimal


@dataclass(frozen=True, kw_only=True)
class SetQuota:
    holder: QuotaHolder
    who: str
    period: str
    amount: Decimal
    currency: str
    department: str | None = None  # None: the quota's own, or else the caller's
