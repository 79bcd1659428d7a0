"""The sales service's use cases: its kinds of record (leads, pipelines, opportunities,
activities, quotes), each run as every CRM record's are (``RecordsApplication``), deals with
their pipeline loaded first (``crm_sales.deals``), quotes with their deal and their number
(``crm_sales.quotes``)."""

from __future__ import annotations

from crm_sales.activity_view import ActivityView
from crm_sales.catalogue.views import PRICE_BOOK, PRODUCT
from crm_sales.contact_records.resolver import AcrossServices
from crm_sales.deals import OPPORTUNITY, PIPELINE
from crm_sales.domain.activity import Activity
from crm_sales.domain.lead import Lead
from crm_sales.quotes import QUOTE, QuoteUseCases
from crm_sales.views import LeadView
from crm_shared.auth.policy import ReferenceResolver
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.records.application import Committer, RecordedEvents
from crm_shared.records.references import RecordsInStore
from crm_shared.records.views import RecordKind

LEAD = RecordKind(Lead, LeadView)
ACTIVITY = RecordKind(Activity, ActivityView)


class SalesEventStore(EventSourcedApplication):
    name = "sales"  # its data keys are the sales service's


class SalesApplication(QuoteUseCases):
    """``contacts`` finds the contacts service's records its references name (in
    production, the read model of them: ``crm_sales.contact_records``)."""

    def __init__(
        self, events: RecordedEvents, committer: Committer, *, contacts: ReferenceResolver
    ) -> None:
        kinds = (LEAD, PIPELINE, OPPORTUNITY, ACTIVITY, PRODUCT, PRICE_BOOK, QUOTE)
        own = RecordsInStore(events.events_of, (kind.aggregate for kind in kinds))
        super().__init__(events, committer, kinds, AcrossServices(own, contacts))
