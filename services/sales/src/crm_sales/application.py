"""The sales service's use cases: its kinds of record (leads, pipelines, opportunities,
activities, quotes), each run as every CRM record's are (``RecordsApplication``), deals with
their pipeline loaded first (``crm_sales.deals``), quotes with their deal and their number
(``crm_sales.quotes``); a lead registered without an owner is assigned by the rules
(``crm_sales.assignment``); the commands that score a lead read the scoring rules in force
in their own batch (``crm_sales.commands.ScoresLead``)."""

from __future__ import annotations

from typing import Any

from crm_sales.activity_view import ActivityView
from crm_sales.assignment.application import LeadAssignment
from crm_sales.catalogue.views import PRICE_BOOK, PRODUCT
from crm_sales.commands import RegisterLead
from crm_sales.contact_records.resolver import AcrossServices, NoContactRecords
from crm_sales.deals import OPPORTUNITY, PIPELINE
from crm_sales.domain.activity import Activity
from crm_sales.domain.lead import Lead
from crm_sales.quotes import QUOTE, QuoteUseCases
from crm_sales.scoring.rules_in_force import RulesInForce
from crm_sales.views import LeadView
from crm_shared.auth.policy import ReferenceResolver
from crm_shared.commands import CommandContext
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.eventstore.group_commit import Outcome
from crm_shared.records.application import Committer, RecordedEvents
from crm_shared.records.commands import CreateRecord
from crm_shared.records.references import RecordsInStore
from crm_shared.records.views import RecordKind

LEAD = RecordKind(Lead, LeadView)
ACTIVITY = RecordKind(Activity, ActivityView)


class SalesEventStore(EventSourcedApplication):
    name = "sales"  # its data keys are the sales service's


class SalesApplication(QuoteUseCases):
    """``contacts`` finds the contacts service's records its references name (in
    production, the read model of them: ``crm_sales.contact_records``); without it, every
    reference to a contact or an account is refused as unknown."""

    def __init__(
        self,
        events: RecordedEvents,
        committer: Committer,
        *,
        contacts: ReferenceResolver | None = None,
    ) -> None:
        kinds = (LEAD, PIPELINE, OPPORTUNITY, ACTIVITY, PRODUCT, PRICE_BOOK, QUOTE)
        own = RecordsInStore(events.events_of, (kind.aggregate for kind in kinds))
        resolver = AcrossServices(own, contacts or NoContactRecords())
        super().__init__(events, committer, kinds, resolver)
        self.assignment = LeadAssignment(events, committer, LEAD)
        self.rules_in_force = RulesInForce(events)

    async def create(self, command: CreateRecord[Any], context: CommandContext) -> Outcome:
        outcome = await super().create(command, context)
        if isinstance(command, RegisterLead) and command.owner is None:
            # Registered without an owner: the assignment rules give it one if they can.
            return await self.assignment.assign_registered(outcome, context)
        return outcome
