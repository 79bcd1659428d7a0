"""/v1/quotes: an opportunity's line items priced, numbered and versioned, sent to the
customer as a PDF, then accepted or rejected."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from crm_sales.api import quote_schemas as schemas
from crm_sales.api.leads import Sales, sales_app
from crm_sales.documents.quote_pdf import PDF_MEDIA_TYPE, render_quote_pdf
from crm_sales.domain.quote import Quote
from crm_sales.quote_commands import AcceptQuote, ChangeQuote, DraftQuote, RejectQuote, SendQuote
from crm_sales.quote_view import QuoteView
from crm_sales.quotes import QUOTE
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import etag, outcome_response
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.records import routes

RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    409: {
        "description": (
            "The quote's status refuses this (an accepted quote is final; only a sent one "
            "is accepted or rejected), it expired, or it changed concurrently"
        )
    },
}

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])


def seller() -> str:
    """Who the quotes are from, as printed on them."""
    return os.environ.get("CRM_SALES_SELLER", "CRM")


def today() -> date:
    return datetime.now(UTC).date()


def draft(*, values: dict[str, Any], owner: str | None, department: str | None) -> DraftQuote:
    return DraftQuote(
        values=schemas.items(values), owner=owner, department=department, today=today()
    )


def change(*, record_id: UUID, changes: dict[str, Any]) -> ChangeQuote:
    return ChangeQuote(record_id=record_id, changes=schemas.items(changes), today=today())


routes.add_create_route(
    router,
    QUOTE,
    body=schemas.DraftQuote,
    command=draft,
    application=sales_app,
    responses=RESPONSES,
    summary="Draft a quote of an opportunity's line items (or the lines given), numbered",
    operation_id="draft_quote",
)
routes.add_change_route(
    router,
    QUOTE,
    body=schemas.ChangeQuote,
    command=change,
    application=sales_app,
    responses=RESPONSES,
    summary="Change a draft in place, or make a sent or rejected quote's next version",
    operation_id="update_quote",
)


@router.get(
    "/{quote_id}.pdf",
    summary="The quote as the PDF the customer receives",
    responses={
        **RESPONSES,
        200: {"content": {PDF_MEDIA_TYPE: {}}, "description": "The quote's PDF"},
    },
    response_class=Response,
    operation_id="quote_pdf",
)
async def quote_pdf(quote_id: UUID, sales: Sales, principal: CurrentPrincipal) -> Response:
    quote = await asyncio.to_thread(sales.get, Quote, quote_id, principal)
    issued_on = quote.sent_on or quote.created_on.date()
    document = await asyncio.to_thread(
        render_quote_pdf,
        quote.as_document(),
        seller=seller(),
        issued_on=issued_on,
        valid_until=quote.valid_until,
    )
    return Response(
        document,
        media_type=PDF_MEDIA_TYPE,
        headers={
            "ETag": etag(quote.version),
            "Content-Disposition": f'inline; filename="{quote.number}-v{quote.revision}.pdf"',
        },
    )


@router.post(
    "/{quote_id}/send",
    summary="Send a draft to the customer: it changes only by a new version from now on",
    response_model=QuoteView,
    responses=RESPONSES,
    operation_id="send_quote",
)
async def send_quote(quote_id: UUID, sales: Sales, context: Changing) -> Response:
    outcome = await sales.handle(SendQuote(record_id=quote_id, today=today()), context)
    return outcome_response(outcome, 200)


@router.post(
    "/{quote_id}/accept",
    summary="The customer accepted the sent quote: final",
    response_model=QuoteView,
    responses=RESPONSES,
    operation_id="accept_quote",
)
async def accept_quote(quote_id: UUID, sales: Sales, context: Changing) -> Response:
    outcome = await sales.handle(AcceptQuote(record_id=quote_id, today=today()), context)
    return outcome_response(outcome, 200)


@router.post(
    "/{quote_id}/reject",
    summary="The customer declined the sent quote, saying why (a new version may follow)",
    response_model=QuoteView,
    responses=RESPONSES,
    operation_id="reject_quote",
)
async def reject_quote(
    quote_id: UUID, body: schemas.RejectQuote, sales: Sales, context: Changing
) -> Response:
    command = RejectQuote(record_id=quote_id, reason=body.reason, today=today())
    return outcome_response(await sales.handle(command, context), 200)


routes.add_record_routes(router, QUOTE, application=sales_app, responses=RESPONSES)
