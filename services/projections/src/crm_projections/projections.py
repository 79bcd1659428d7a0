"""The read models this service maintains, by name."""

from __future__ import annotations

from crm_projections.customer360.projection import SCHEMA, Customer360Projection
from crm_projections.forecast.projection import SCHEMA as FORECAST_SCHEMA
from crm_projections.forecast.projection import ForecastProjection
from crm_shared.projections import Projections

__all__ = ["CONSUMERS", "SCHEMA", "all_projections"]

# Each read model's consumer keeps its positions in the read model's own schema (the
# 360's is `projections`, where existing deployments keep their offsets).
CONSUMERS = {"customer360": SCHEMA, "forecast": FORECAST_SCHEMA}


def all_projections() -> Projections:
    return Projections(Customer360Projection(), ForecastProjection())
