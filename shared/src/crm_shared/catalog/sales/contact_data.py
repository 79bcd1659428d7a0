"""What the sales service holds about a contact, erased with the contact.

Sales seals a contact's data it writes itself (an activity's subject and notes, the
customer name on a quote) with a key of its own for the contact's id. When the contacts
service erases the contact, sales records this event, whose recording deletes that key:
everything sales wrote about the person becomes unreadable, in its store and on its topic
(one person, one data subject: docs/architecture.md)."""

from __future__ import annotations

from crm_shared.events.catalog import EventData, event_type


@event_type("sales", "contact_data", "erased")
class ContactDataErased(EventData):
    """The contact (the aggregate's id) was erased: sales deleted the key it sealed their
    data with. Carries no personal data itself."""

    erases_data_subject = True
    example = {}
