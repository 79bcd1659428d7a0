"""The deal list: a read model the sales service keeps of its own opportunities
(``read_model``), folded from their events (``rows``) and queried by
``GET /v1/opportunities`` (``queries``)."""

# Its PostgreSQL schema: its table and its consumer's positions. Named here, light to
# import, for the service's declaration (`crm dlq` looks there).
SCHEMA = "sales_deals"
