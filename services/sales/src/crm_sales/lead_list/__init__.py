"""The lead list: a read model the sales service keeps of its own leads (``read_model``),
folded from their events (``rows``) and queried by ``GET /v1/leads`` (``queries``)."""

# Its PostgreSQL schema: its table and its consumer's positions. Named here, light to
# import, for the service's declaration (`crm dlq` looks there).
SCHEMA = "sales_leads"
