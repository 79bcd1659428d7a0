"""The read models this service maintains, by name."""

from __future__ import annotations

from crm_projections.customer360.projection import SCHEMA, Customer360Projection
from crm_shared.messaging.consumer import Projection

__all__ = ["SCHEMA", "all_projections"]


def all_projections() -> dict[str, Projection]:
    projections: list[Projection] = [Customer360Projection()]
    return {p.name: p for p in projections}
