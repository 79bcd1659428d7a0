"""Kafka side of the platform: topics, CloudEvents encoding, the relay and the consumer."""
