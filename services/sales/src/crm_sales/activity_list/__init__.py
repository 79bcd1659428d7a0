"""The activity list: a read model the sales service keeps of its own activities
(``read_model``), folded from their events (``rows``), queried by ``GET /v1/activities``
(``queries``), and holding the instants reminders are due at, which the reminder
scheduler fires (``crm_sales.reminder_scheduler``, with the pure rule in ``due``)."""

# Its PostgreSQL schema: its tables and its consumer's positions.
SCHEMA = "sales_activities"
