"""The write side shared by every service: event store, group commit, idempotency."""
