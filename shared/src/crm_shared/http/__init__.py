"""The HTTP adapter every service shares: app factory, errors, auth dependencies."""
