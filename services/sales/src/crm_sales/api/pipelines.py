"""/v1/pipelines: the ordered stages deals move through."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body
from pydantic import BaseModel
from starlette.responses import Response

from crm_sales.api import deal_schemas as schemas
from crm_sales.api.leads import Sales, sales_app
from crm_sales.deal_commands import ArchivePipeline, ChangePipeline, DefinePipeline
from crm_sales.deal_views import PipelineView
from crm_sales.deals import PIPELINE
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.http.lists import LIST_RESPONSES
from crm_shared.records import routes
from crm_shared.records.schemas import Archive

RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    409: {
        "description": "Another pipeline not archived has the name, whatever the case"
        " (`pipeline_name_taken`, naming `body.name`), or the pipeline is archived, or"
        " changed concurrently"
    },
}

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])


class PipelineList(BaseModel):
    items: list[PipelineView]


@router.get(
    "",
    summary="The pipelines not archived in the caller's departments, by name",
    response_model=PipelineList,
    responses=LIST_RESPONSES,
    operation_id="list_pipelines",
)
async def list_pipelines(sales: Sales, principal: CurrentPrincipal) -> PipelineList:
    pipelines = await asyncio.to_thread(sales.pipelines_in_sight, principal)
    return PipelineList(items=[PipelineView.of(pipeline) for pipeline in pipelines])


def define(*, values: dict[str, Any], owner: str | None, department: str | None) -> DefinePipeline:
    # A pipeline is its department's: the owner the create route fills in does not apply.
    return DefinePipeline(values=schemas.recorded(values), department=department)


def change(*, record_id: UUID, changes: dict[str, Any]) -> ChangePipeline:
    return ChangePipeline(record_id=record_id, changes=schemas.recorded(changes))


routes.add_create_route(
    router,
    PIPELINE,
    body=schemas.DefinePipeline,
    command=define,
    application=sales_app,
    responses=RESPONSES,
    summary="Define a pipeline: its ordered stages, the won and lost stages last",
    operation_id="define_pipeline",
)
routes.add_change_route(
    router,
    PIPELINE,
    body=schemas.ChangePipeline,
    command=change,
    application=sales_app,
    responses=RESPONSES,
    summary="Rename a pipeline or redefine its stages (deals keep their stage's name)",
    operation_id="update_pipeline",
)


@router.post(
    "/{pipeline_id}/archive",
    summary="Archive a pipeline: no new deal opens in it; its deals stay where they are",
    response_model=PipelineView,
    responses=RESPONSES,
    operation_id="archive_pipeline",
)
async def archive_pipeline(
    pipeline_id: UUID,
    sales: Sales,
    context: Changing,
    body: Annotated[Archive | None, Body()] = None,
) -> Response:
    command = ArchivePipeline(record_id=pipeline_id, reason=body.reason if body else None)
    return outcome_response(await sales.handle(command, context), 200)


routes.add_record_routes(router, PIPELINE, application=sales_app, responses=RESPONSES)
