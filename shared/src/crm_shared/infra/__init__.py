"""Embedded infrastructure for `crm up` and the tests: PostgreSQL and a Kafka-protocol broker."""
