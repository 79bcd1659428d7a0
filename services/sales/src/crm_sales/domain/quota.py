"""A sales quota: the target of one owner or one team over one period, in one currency.

There is one aggregate per (owner or team, period), its id derived from them
(``quota_id``): a quota is put at a path that names exactly these, so putting one needs no
lookup, and two managers setting the same quota at once meet on one stream.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid5

from crm_sales.domain.money import Money, NotAnAmount
from crm_sales.domain.periods import period
from crm_shared.auth.policy import Scope
from crm_shared.catalog.sales.planning import QuotaSet
from crm_shared.domain import Aggregate, applies

_QUOTAS = UUID("9a3c1d7e-52b4-4f08-8e6a-0c1b2d3e4f50")
# Far beyond any sales target, and small enough that checking an amount's minor units
# stays within Decimal's default precision (28 digits).
LARGEST_QUOTA = Decimal("1e15")


class QuotaHolder(StrEnum):
    OWNER = "owner"
    TEAM = "team"


def quota_id(holder: QuotaHolder, who: str, period_label: str) -> UUID:
    return uuid5(_QUOTAS, f"quota:{holder}:{who}:{period_label}")


class Quota(Aggregate):
    creation_events = (QuotaSet,)

    holder: QuotaHolder
    who: str
    period: str
    amount: Decimal
    currency: str
    department: str

    @classmethod
    def of(cls, holder: QuotaHolder, who: str, period_text: str) -> Quota:
        """The quota before it was ever set (the period is checked here)."""
        label = period(period_text).label
        quota = cls(quota_id(holder, who, label))
        quota.holder, quota.who, quota.period = holder, who, label
        return quota

    @property
    def scope(self) -> Scope:
        # A quota belongs to its department; it is about its owner, but not theirs to set.
        return Scope(owner=None, department=self.department)

    @property
    def is_set(self) -> bool:
        return self.version > 0

    def set(self, target: Money, department: str) -> None:
        """Replaces the quota; the same quota again changes nothing."""
        if not Decimal(0) <= target.amount < LARGEST_QUOTA:
            raise NotAnAmount(f"a quota is from 0 to below {LARGEST_QUOTA:,f}", field="amount")
        if target.rounded().amount != target.amount:
            raise NotAnAmount(
                f"{target} has more decimals than {target.currency}'s minor unit", field="amount"
            )
        if self.is_set and (self.amount, self.currency, self.department) == (
            target.amount,
            target.currency,
            department,
        ):
            return
        self._trigger(
            QuotaSet(
                owner=self.who if self.holder is QuotaHolder.OWNER else None,
                team=self.who if self.holder is QuotaHolder.TEAM else None,
                period=self.period,
                amount=target.amount,
                currency=target.currency,
                department=department,
            )
        )

    @applies(QuotaSet)
    def _set(self, e: QuotaSet) -> None:
        if e.owner is not None:
            self.holder, self.who = QuotaHolder.OWNER, e.owner
        else:
            self.holder, self.who = QuotaHolder.TEAM, e.team or ""
        self.period, self.amount, self.currency = e.period, e.amount, e.currency
        self.department = e.department
