"""Documents a sale produces, as pure values: quotes and their PDF, activities' reminders
and the iCalendar feed. No HTTP, no store: the service wires them in."""
