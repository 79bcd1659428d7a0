"""The use cases of exchange rates, quotas and the catalogue, built once per app on the
sales service's event store and group commit (``app.state.use_cases``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_sales.catalogue.application import Catalogue
from crm_sales.planning.application import Planning
from crm_shared.records.application import RecordsApplication


async def planning(request: Request) -> Planning:
    state = request.app.state
    if getattr(state, "planning", None) is None:
        sales: RecordsApplication = state.use_cases
        state.planning = Planning(sales.events, sales.committer, state.settings.corporate_currency)
    found: Planning = state.planning
    return found


async def catalogue(request: Request) -> RecordsApplication:
    state = request.app.state
    if getattr(state, "catalogue", None) is None:
        sales: RecordsApplication = state.use_cases
        state.catalogue = Catalogue(sales.events, sales.committer, sales.resolver)
    found: Catalogue = state.catalogue
    return found


PlanningUseCases = Annotated[Planning, Depends(planning)]
