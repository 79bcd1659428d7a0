"""Erasing a lead for the person erased as the contact it became: a command of the sales
service's own, by the service itself (no user asked: the contacts service's erasure did)."""

from __future__ import annotations

from uuid import UUID

from crm_sales.application import SalesApplication
from crm_sales.commands import EraseLead
from crm_shared.auth.caller import Caller
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.events import EventMetadata

# An admin of the sales service for this one command; its events name it as their actor.
SALES_SERVICE = Principal("service:sales", Role.ADMIN, kind="service")
ERASING = CommandContext(Caller(SALES_SERVICE, EventMetadata(actor="service:sales")))


async def erase_lead(sales: SalesApplication, lead_id: UUID, contact_id: UUID) -> None:
    await sales.handle(EraseLead(record_id=lead_id, contact_id=contact_id), ERASING)
