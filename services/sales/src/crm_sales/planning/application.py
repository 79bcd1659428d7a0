"""The use cases of exchange rates and quotas, run through group commit like every record's
command, with the policy's say: admins and managers put rates and set quotas (a quota in a
department they manage), every caller of the service reads rates, and quotas are read
where their department may be seen."""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from crm_sales.domain.currency_rates import CurrencyRates, currency_rates_id
from crm_sales.domain.exchange_rates import NoRateInForce
from crm_sales.domain.money import Money, minor_units
from crm_sales.domain.quota import Quota, QuotaHolder
from crm_sales.planning.commands import PutExchangeRate, SetQuota
from crm_sales.planning.views import ExchangeRatesView, QuotaView, RateInForceView
from crm_shared.auth.policy import Action, Scope, allows, authorize
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.domain import Aggregate, Forbidden, NotFound
from crm_shared.eventstore.group_commit import CommandFn, Outcome, UnitOfWork, check_version
from crm_shared.records.application import Committer, RecordedEvents
from crm_shared.records.record import DepartmentRequired

PLANNERS = frozenset({Role.ADMIN, Role.MANAGER})

A = TypeVar("A", bound=Aggregate)


class RateNotKnown(NotFound):
    code = "no_exchange_rate"


def _stored(unit: UnitOfWork, cls: type[A], aggregate_id: UUID) -> A | None:
    """The aggregate as stored, or None before its first event (rates and quotas are put
    at ids known in advance: the first put starts the stream)."""
    try:
        return unit.get(cls, aggregate_id)
    except NotFound:
        return None


def _check_planner(principal: Principal, what: str) -> None:
    if principal.role not in PLANNERS:
        raise Forbidden(f"role {principal.role} may not set {what}: managers and admins do")


class Planning:
    def __init__(self, events: RecordedEvents, committer: Committer, corporate: str) -> None:
        self.events, self.committer, self.corporate = events, committer, corporate

    # --- exchange rates ----------------------------------------------------------------

    def exchange_rates(self, currency: str) -> ExchangeRatesView:
        return ExchangeRatesView.of(self._rates(currency), self.corporate)

    def rate_in_force(self, currency: str, on: date, known_at: datetime) -> RateInForceView:
        try:
            rate = (
                self._rates(currency)
                .against(self.corporate)
                .rate_in_force(currency, on, known_at=known_at)
            )
        except NoRateInForce as absent:
            raise RateNotKnown(str(absent)) from None
        return RateInForceView(
            currency=currency,
            corporate_currency=self.corporate,
            date=on,
            as_known_at=known_at,
            rate=rate,
        )

    def _rates(self, currency: str) -> CurrencyRates:
        minor_units(currency)
        events = self.events.events_of(currency_rates_id(currency))
        return CurrencyRates.project(None, events) or CurrencyRates.of(currency)

    async def put_exchange_rate(self, command: PutExchangeRate, context: CommandContext) -> Outcome:
        _check_planner(context.principal, "exchange rates")
        corporate = self.corporate

        def run(unit: UnitOfWork) -> Outcome:
            rates = _stored(unit, CurrencyRates, currency_rates_id(command.currency))
            rates = rates or CurrencyRates.of(command.currency)
            unit.add(rates)
            check_version(rates, context.expected_version)
            rates.record(command.effective, command.rate, corporate=corporate)
            body = ExchangeRatesView.of(rates, corporate).model_dump_json().encode()
            return Outcome(rates.id, rates.version, body)

        return await self._submit(run, currency_rates_id(command.currency), context)

    # --- quotas --------------------------------------------------------------------------

    def quota(self, holder: QuotaHolder, who: str, period: str, principal: Principal) -> QuotaView:
        blank = Quota.of(holder, who, period)
        quota = Quota.project(None, self.events.events_of(blank.id))
        if quota is None:
            raise NotFound(f"no {holder} quota for {who} in {blank.period}")
        authorize(principal, Action.READ, quota.scope, "quota")
        return QuotaView.of(quota)

    async def set_quota(self, command: SetQuota, context: CommandContext) -> Outcome:
        principal = context.principal
        _check_planner(principal, "quotas")
        blank = Quota.of(command.holder, command.who, command.period)
        target = Money(command.amount, command.currency)

        def run(unit: UnitOfWork) -> Outcome:
            quota = _stored(unit, Quota, blank.id) or blank
            unit.add(quota)
            if quota.is_set:
                # Out of sight first: not even whether the quota exists may leak.
                authorize(principal, Action.CHANGE, quota.scope, "quota")
            department = command.department or (
                quota.department if quota.is_set else principal.primary_department
            )
            if department is None:
                raise DepartmentRequired("a department is required", field="department")
            if not allows(principal, Action.CHANGE, Scope(None, department)):
                raise Forbidden(f"role {principal.role} may not set quotas in {department}")
            check_version(quota, context.expected_version)
            quota.set(target, department)
            return Outcome(quota.id, quota.version, QuotaView.of(quota).model_dump_json().encode())

        return await self._submit(run, blank.id, context)

    async def _submit(self, run: CommandFn, touches: UUID, context: CommandContext) -> Outcome:
        return await self.committer.submit(
            run,
            touches=touches,
            metadata=context.metadata,
            idempotency_key=context.idempotency_key,
            fingerprint=context.fingerprint,
        )

    async def handle(self, command: PutExchangeRate | SetQuota, context: CommandContext) -> Outcome:
        """Either command, as the specifications send them."""
        match command:
            case PutExchangeRate():
                return await self.put_exchange_rate(command, context)
            case SetQuota():
                return await self.set_quota(command, context)
