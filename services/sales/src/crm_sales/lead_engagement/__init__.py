"""Engagement that other services' events bring to leads, and when each lead is next due
for rescoring: a read model of ``crm.marketing.events`` (campaign responses, form
submissions), ``crm.contacts.events`` (interactions logged with a contact) and the sales
service's own lead and scoring rule events.

An event naming a lead engages that lead; one naming only a contact engages the lead that
was converted into that contact, whichever of the conversion and the engagement is read
first (both are kept: the topics are read independently). Engaging goes through the
lead's own command (``EngageLead``), which counts each source event once: a redelivered
batch records nothing new (``engage``). The due instants (``rescore_at`` of the lead's
last ``LeadScoreChanged``; every lead at once when a rule set is put) are what the
rescoring sweeper reads (``crm_sales.scoring.sweeper``)."""

# Its PostgreSQL schema: its tables and its consumer's positions.
SCHEMA = "sales_engagement"
