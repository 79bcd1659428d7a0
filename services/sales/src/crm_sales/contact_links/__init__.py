"""The contacts the sales service's leads became, and which of them were erased: a read
model of ``LeadConverted`` (its own topic) and ``ContactErased`` (``crm.contacts.events``),
kept so that one person stays one data subject across the two services. When a contact a
lead became is erased, the lead is erased too (``read_model``, ``erasure``).

Both events are kept, whichever arrives first (a replay of both topics may bring the
erasure before the conversion), and a lead is erased once both are known."""

# Its PostgreSQL schema: its tables and its consumer's positions.
SCHEMA = "sales_contacts"
