"""Projections: read models folded from typed events (see ``projection``)."""

from crm_shared.projections.projection import Projection, ReadModel
from crm_shared.projections.registry import Projections

__all__ = ["Projection", "Projections", "ReadModel"]
