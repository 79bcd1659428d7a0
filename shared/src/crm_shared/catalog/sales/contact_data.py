"""What the sales service holds about a contact, erased with the contact.

Sales seals a contact's data it writes itself (an activity's subject and notes, the
customer name on a quote) with a key of its own for the contact's id. When the contacts
service erases the contact, sales records this event, whose recording deletes that key:
everything sales wrote about the person becomes unreadable, in its store and on its topic
(one person, one data subject: docs/architecture.md)."""

from __future__ import annotations

from uuid import UUID

from crm_shared.events.catalog import EventData, event_type


@event_type("sales", "contact_data", "erased")
class ContactDataErased(EventData):
    """The contact was erased: sales deleted the key it sealed their data with. The stream
    is sales' own (an id derived from the contact's), never the contact's id itself: a
    consumer of both topics keeps one version per aggregate id. Carries no personal data."""

    erases_data_subject = True
    data_subject_field = "contact_id"
    contact_id: UUID
    example = {"contact_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00"}
