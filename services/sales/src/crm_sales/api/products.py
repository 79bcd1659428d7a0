"""/v1/products and /v1/price-books: the catalogue deals and quotes sell from."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from crm_sales.api import catalogue_schemas as schemas
from crm_sales.api.planning_deps import catalogue
from crm_sales.catalogue import commands
from crm_sales.catalogue.views import PRICE_BOOK, PRODUCT, PriceBookView
from crm_sales.domain.price_book import STANDARD_PRICE_BOOK_ID, PriceBook
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.records import routes
from crm_shared.records.application import RecordsApplication

RESPONSES: dict[int | str, dict[str, Any]] = {
    **routes.RESPONSES,
    403: {"description": "Only managers and admins keep the catalogue"},
    409: {
        "description": "Archived, changed concurrently, or the code (the standard price "
        "book) is taken"
    },
}

products = APIRouter(prefix="/v1/products", tags=["products"])
routes.add_create_route(
    products,
    PRODUCT,
    body=schemas.CreateProduct,
    command=commands.create_product,
    application=catalogue,
    responses=RESPONSES,
    summary="Create a product (its code is unique, and never changes)",
)
routes.add_change_route(
    products,
    PRODUCT,
    body=schemas.ChangeProduct,
    command=commands.ChangeProduct,
    application=catalogue,
    responses=RESPONSES,
)
routes.add_record_routes(products, PRODUCT, application=catalogue, responses=RESPONSES)

price_books = APIRouter(prefix="/v1/price-books", tags=["price books"])
routes.add_create_route(
    price_books,
    PRICE_BOOK,
    body=schemas.DefinePriceBook,
    command=commands.define_price_book,
    application=catalogue,
    responses=RESPONSES,
    summary="Define a price book (one may be the standard one)",
    operation_id="define_price_book",
)
routes.add_change_route(
    price_books,
    PRICE_BOOK,
    body=schemas.ChangePriceBook,
    command=commands.ChangePriceBook,
    application=catalogue,
    responses=RESPONSES,
    summary="Rename a price book, or change its currency and entries (the whole list)",
)


@price_books.get(
    "/standard",
    summary="Read the standard price book",
    response_model=PriceBookView,
    responses=RESPONSES,
    operation_id="get_standard_price_book",
)
async def get_standard_price_book(
    records: Annotated[RecordsApplication, Depends(catalogue)], principal: CurrentPrincipal
) -> Response:
    outcome = await asyncio.to_thread(records.read, PriceBook, STANDARD_PRICE_BOOK_ID, principal)
    return outcome_response(outcome, 200)


routes.add_record_routes(price_books, PRICE_BOOK, application=catalogue, responses=RESPONSES)
