"""Prometheus metrics shared by every service (one registry per process)."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUEST_SECONDS = Histogram(
    "crm_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_APPENDED = Counter(
    "crm_events_appended_total", "Domain events stored in the event store", ["service"]
)
COMMAND_BATCH_SIZE = Histogram(
    "crm_command_batch_size",
    "Commands committed together in one transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
OUTBOX_PENDING = Gauge(
    "crm_outbox_pending_events", "Stored events not yet published to Kafka", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "crm_outbox_oldest_pending_age_seconds",
    "Age of the oldest stored event not yet published",
    ["service"],
)
EVENTS_PUBLISHED = Counter(
    "crm_events_published_total", "Events published to Kafka by the relay", ["service", "topic"]
)
CONSUMER_LAG_EVENTS = Gauge(
    "crm_projection_lag_events", "Events on the topic not yet applied", ["projection", "topic"]
)
CONSUMER_LAG_SECONDS = Gauge(
    "crm_projection_lag_seconds",
    "Age of the newest applied event when it was applied",
    ["projection", "topic"],
)
EVENTS_APPLIED = Counter(
    "crm_events_applied_total", "Events applied to read models", ["projection"]
)
DEAD_LETTERS = Counter(
    "crm_dead_letters_total", "Records sent to a dead-letter topic", ["projection", "topic"]
)
PARKED_EVENTS = Counter(
    "crm_parked_events_total",
    "Events held back because an earlier event of their aggregate has not been applied",
    ["projection", "topic"],
)
LOG_REWINDS = Counter(
    "crm_consumer_log_rewinds_total",
    "Partitions read again from the start because the broker's log was lost or replaced",
    ["projection", "topic"],
)
