"""The read models this service maintains, by name."""

from __future__ import annotations

from crm_projections.customer360.projection import SCHEMA, Customer360Projection
from crm_shared.projections import Projections

__all__ = ["SCHEMA", "all_projections"]


def all_projections() -> Projections:
    return Projections(Customer360Projection())
