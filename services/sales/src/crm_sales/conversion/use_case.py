"""Converting a lead, step by step, each step safe to run again (see the package's notes).

The order matters: everything the lead would refuse is checked before anything is created
elsewhere; the contacts service comes first (the account, then the contact that names
it), the opportunity next, and ``LeadConverted`` last, so that a failure anywhere leaves
the lead unconverted and a retry finishes the work without doing any of it twice.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid5

from crm_sales.application import LEAD, SalesApplication
from crm_sales.commands import ConvertLead, StartLeadConversion
from crm_sales.deal_commands import OpenOpportunity
from crm_sales.domain.lead import ConversionPlan, Lead, LeadAlreadyConverted, LeadStatus
from crm_shared.auth.policy import Action, Reference, Scope, authorize, may_create, vet_references
from crm_shared.auth.principal import Principal
from crm_shared.commands import CommandContext
from crm_shared.domain import PreconditionFailed
from crm_shared.eventstore.group_commit import ConcurrencyConflict, Outcome, VersionMismatch

# Ids derived from a lead's: the same lead always names the same opportunity.
CONVERSIONS = UUID("5f0c9c52-2d51-4d0e-9d1f-2f8c0a6b7e31")


def opportunity_id_of(lead_id: UUID) -> UUID:
    return uuid5(CONVERSIONS, f"{lead_id}/opportunity")


def idempotency_key_of(lead_id: UUID, record: str) -> str:
    """The key every attempt at converting the lead sends for ``record``, whoever makes it:
    the credential names the sales service as acting for the user, and the contacts service
    scopes such keys to the service (``Principal.idempotency_scope``), not the user."""
    return f"lead-conversion:{lead_id}:{record}"


@dataclass(frozen=True)
class NewOpportunity:
    name: str
    pipeline_id: UUID
    currency: str
    close_date: date
    amount: Decimal | None = None


@dataclass(frozen=True)
class Conversion:
    """What the rep asks for: an account from the lead's company (when it names one), and
    an opportunity, or not."""

    create_account: bool = True
    opportunity: NewOpportunity | None = None


class Contacts(Protocol):
    async def create(
        self,
        collection: str,
        body: dict[str, Any],
        *,
        acting_for: Principal,
        department: str,
        idempotency_key: str,
    ) -> UUID: ...


def owner_of(lead: Lead, principal: Principal) -> str:
    """Who owns what the lead becomes: its own owner, where the caller may create records
    for them (a manager converting a rep's lead), else the caller."""
    if lead.owner is not None and may_create(principal, Scope(lead.owner, lead.department)):
        return lead.owner
    return principal.id


def account_of(lead: Lead, owner: str) -> dict[str, Any] | None:
    """The account a lead's company becomes, or None when it names no company."""
    if not lead.company_name:
        return None
    return {
        "name": lead.company_name,
        "industry": lead.industry,
        "owner": owner,
        "department": lead.department,
    }


def contact_of(lead: Lead, owner: str, account_id: UUID | None) -> dict[str, Any]:
    """The contact a lead's person becomes: the same person, the same data subject's
    values (the contacts service seals them with the contact's own key)."""
    return {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "emails": [{"address": lead.email, "primary": True}] if lead.email else [],
        "phones": [{"number": lead.phone}] if lead.phone else [],
        "job_title": lead.job_title,
        "source": lead.source,
        "account_id": str(account_id) if account_id else None,
        "owner": owner,
        "department": lead.department,
    }


class LeadConversion:
    def __init__(self, sales: SalesApplication, contacts: Contacts) -> None:
        self.sales = sales
        self.contacts = contacts

    async def convert(
        self, lead_id: UUID, conversion: Conversion, context: CommandContext
    ) -> Outcome:
        """The lead as converted (its links), doing what an earlier attempt left undone."""
        principal = context.principal
        lead = await asyncio.to_thread(self.sales.get, Lead, lead_id, principal)
        if lead.status is LeadStatus.CONVERTED:
            return LEAD.outcome(lead)
        authorize(principal, Action.CHANGE, lead.scope, "lead")
        if not lead.matches_version(context.expected_version):
            raise VersionMismatch(
                f"lead {lead_id} is at version {lead.version}, not {context.expected_version}"
            )
        lead.check_convertible()
        if conversion.opportunity is not None:
            await self._check_pipeline(principal, conversion.opportunity.pipeline_id)

        plan = await self._plan(lead, conversion, context)
        account_id = None
        account = account_of(lead, plan.owner) if plan.create_account else None
        if account is not None:
            account_id = await self._create(lead, "accounts", account, principal)
        contact_id = await self._create(
            lead, "contacts", contact_of(lead, plan.owner, account_id), principal
        )
        opportunity_id = None
        if conversion.opportunity is not None:
            opportunity_id = await self._open(
                lead, conversion.opportunity, plan.owner, account_id, contact_id, context
            )
        convert = ConvertLead(
            record_id=lead_id,
            contact_id=contact_id,
            account_id=account_id,
            opportunity_id=opportunity_id,
        )
        try:
            # The If-Match was checked above; the plan has since moved the lead's version.
            return await self.sales.handle(convert, replace(context, expected_version=None))
        except LeadAlreadyConverted:  # another attempt finished first: its links stand
            return await asyncio.to_thread(self.sales.read, Lead, lead_id, principal)

    async def _plan(
        self, lead: Lead, conversion: Conversion, context: CommandContext
    ) -> ConversionPlan:
        """The plan an earlier attempt settled, or this attempt's, recorded before anything
        is created elsewhere: every attempt then sends the contacts service the same
        requests, and its idempotency keys give back the records the first one created."""
        if lead.conversion_plan is not None:
            return lead.conversion_plan
        start = StartLeadConversion(
            record_id=lead.id,
            owner=owner_of(lead, context.principal),
            create_account=conversion.create_account,
        )
        # Another attempt may move the lead first: its plan, if it began one, stands.
        with suppress(ConcurrencyConflict, PreconditionFailed):
            await self.sales.handle(start, CommandContext(context.caller, lead.version))
        settled = await asyncio.to_thread(self.sales.get, Lead, lead.id, context.principal)
        settled.check_convertible()
        if settled.conversion_plan is None:
            raise ConcurrencyConflict(f"lead {lead.id} changed while being converted")
        return settled.conversion_plan

    async def _check_pipeline(self, principal: Principal, pipeline_id: UUID) -> None:
        # Before anything is created: a pipeline the caller may not use refuses it all.
        reference = Reference("opportunity.pipeline_id", "pipeline", pipeline_id)
        refusals = await vet_references(principal, [reference], self.sales.resolver)
        if refusals:
            raise refusals[reference]

    async def _create(
        self, lead: Lead, collection: str, body: dict[str, Any], principal: Principal
    ) -> UUID:
        return await self.contacts.create(
            collection,
            body,
            acting_for=principal,
            department=lead.department,
            idempotency_key=idempotency_key_of(lead.id, collection),
        )

    async def _open(
        self,
        lead: Lead,
        wanted: NewOpportunity,
        owner: str,
        account_id: UUID | None,
        contact_id: UUID,
        context: CommandContext,
    ) -> UUID:
        """Opens the lead's opportunity, unless an earlier attempt did."""
        opportunity_id = opportunity_id_of(lead.id)
        if await self._exists(opportunity_id):
            return opportunity_id
        values = {
            "name": wanted.name,
            "pipeline_id": wanted.pipeline_id,
            "currency": wanted.currency,
            "close_date": wanted.close_date,
            "lead_id": lead.id,
            "account_id": account_id,
            "primary_contact_id": contact_id,
            "team": lead.team,
        }
        if wanted.amount is not None:
            values["amount"] = wanted.amount
        command = OpenOpportunity(
            record_id=opportunity_id,
            values=values,
            owner=owner,
            department=lead.department,
            # The contacts service has just answered that it created them, as the user
            # may: the deal names them before the read model of them may know them.
            vouched_for=frozenset(i for i in (account_id, contact_id) if i is not None),
        )
        try:
            # The caller's own key and version are the lead's, not the deal's.
            await self.sales.handle(command, CommandContext(context.caller))
        except ConcurrencyConflict:
            if not await self._exists(opportunity_id):  # not a concurrent attempt's deal
                raise
        return opportunity_id

    async def _exists(self, record_id: UUID) -> bool:
        return bool(await asyncio.to_thread(self.sales.events.events_of, record_id))
