"""HTTP adapter of the projections service."""
