"""The sales service's use cases: its kinds of record (leads, for now), each run as every
CRM record's are (``RecordsApplication``)."""

from __future__ import annotations

from crm_sales.catalogue.views import PRICE_BOOK, PRODUCT
from crm_sales.domain.lead import Lead
from crm_sales.views import LeadView
from crm_shared.auth.policy import ReferenceResolver
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.records.application import Committer, RecordedEvents, RecordsApplication
from crm_shared.records.views import RecordKind

LEAD = RecordKind(Lead, LeadView)


class SalesEventStore(EventSourcedApplication):
    name = "sales"  # its data keys are the sales service's


class SalesApplication(RecordsApplication):
    def __init__(
        self,
        events: RecordedEvents,
        committer: Committer,
        resolver: ReferenceResolver | None = None,
    ) -> None:
        super().__init__(events, committer, (LEAD, PRODUCT, PRICE_BOOK), resolver)
