"""Metrics, JSON logs and the correlation id that ties a request to its events."""
