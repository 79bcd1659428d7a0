"""Engaging a lead as another service's event told: a command of the sales service's own,
by the service itself (no user asked: a contact's interaction or marketing's event did)."""

from __future__ import annotations

import logging

from crm_sales.application import SalesApplication
from crm_sales.commands import EngageLead
from crm_sales.lead_engagement.batch import Engaged
from crm_shared.auth.caller import Caller
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.domain import Gone, NotFound
from crm_shared.events import EventMetadata
from crm_shared.eventstore.group_commit import ConcurrencyConflict

log = logging.getLogger(__name__)

SALES_SERVICE = Principal("service:sales", Role.ADMIN, kind="service")
ENGAGING = CommandContext(Caller(SALES_SERVICE, EventMetadata(actor="service:sales")))
# A rep changing the lead at the same moment: the engagement is tried again on the new
# state, a few times, before the batch fails (and the consumer tries it again).
ATTEMPTS = 3


async def engage_lead(sales: SalesApplication, engaged: Engaged) -> None:
    command = EngageLead(
        record_id=engaged.who,
        kind=engaged.kind,
        at=engaged.at,
        source_event_id=engaged.source_event_id,
    )
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await sales.handle(command, ENGAGING)
            return
        except (NotFound, Gone) as refused:
            # A lead marketing named that sales does not know, or an erased one: nothing
            # to count, and nothing a retry would change.
            log.info("engagement %s not counted: %s", engaged.source_event_id, refused)
            return
        except ConcurrencyConflict:
            if attempt == ATTEMPTS:
                raise
