"""The contacts service's use cases: the commands of its two kinds of record, people
(contacts) and companies (accounts), run as every CRM record's are, plus a person's
export (right of access)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_contacts.views import AccountView, ContactView
from crm_shared.auth.policy import ReferenceResolver
from crm_shared.auth.principal import Principal
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.records.application import (
    Committer,
    RecordedEvents,
    RecordsApplication,
)
from crm_shared.records.views import RecordKind

SCHEMA = "contacts"
CONTACT = RecordKind(Contact, ContactView)
ACCOUNT = RecordKind(Account, AccountView)


class ContactsEventStore(EventSourcedApplication):
    name = "contacts"


class ContactsApplication(RecordsApplication):
    def __init__(
        self,
        events: RecordedEvents,
        committer: Committer,
        resolver: ReferenceResolver | None = None,
    ) -> None:
        super().__init__(events, committer, (CONTACT, ACCOUNT), resolver)

    def export(self, contact_id: UUID, principal: Principal) -> dict[str, Any]:
        """Right of access and portability: the profile, consents, interactions and every
        change, in one document."""
        return self.export_of(Contact, contact_id, principal)
