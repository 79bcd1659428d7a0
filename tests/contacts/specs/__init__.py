"""The contacts service's rules, each a specification: given these events, when this
command by this caller, then these events or this refusal (no database, no broker)."""
