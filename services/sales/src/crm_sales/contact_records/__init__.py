"""The contacts service's contacts and accounts as the sales service needs them to check a
reference (a deal's account, an activity's contact): each one's id, kind, department,
and whether it is archived or erased. A read model of ``crm.contacts.events``, kept apart
from the contact links (which erase what sales holds of a person: another job, with side
effects a rebuild must not repeat). It keeps **no personal data**: no names, no emails,
so an erasure has nothing here to delete; an erased contact stays as a row marked erased,
which no reference may name any more.

A record registered a moment ago may not be here yet: a reference to it is refused as
unknown until it arrives (docs/architecture.md, "References across services")."""

# Its PostgreSQL schema: its table and its consumer's positions.
SCHEMA = "sales_contact_records"
