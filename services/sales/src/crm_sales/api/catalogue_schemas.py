"""Request bodies of the product and price book routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from crm_sales.api.planning_schemas import CurrencyCode
from crm_shared.records.schemas import NewRecord
from crm_shared.values import LongText, Number, ShortText, Strict

ProductCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$"),
    Field(description="The product's code (SKU): unique without regard to case, never changes"),
]


# A change's field that a record cannot be without: left out, it stays; null is refused
# (the default is not validated, so only a null that was sent is).
KEPT = Field(None, description="Left out: unchanged (never null)")


class ProductFields(Strict):
    name: ShortText = KEPT
    description: LongText | None = None
    family: ShortText | None = None
    active: bool = KEPT


class CreateProduct(NewRecord):
    code: ProductCode
    name: ShortText
    description: LongText | None = None
    family: ShortText | None = None
    active: bool = True


class ChangeProduct(ProductFields):
    """Only the fields present change; null clears a description or a family (the code
    never changes)."""


class Entry(Strict):
    product_id: UUID
    unit_price: Annotated[Number, Field(ge=0, description="In the price book's currency")]


class DefinePriceBook(NewRecord):
    name: ShortText
    currency: CurrencyCode
    standard: bool = Field(False, description="The standard price book (there is one)")
    entries: list[Entry] = Field(default_factory=list, max_length=10_000)


class ChangePriceBook(Strict):
    """Only the fields present change; ``entries`` replaces the whole list (``[]``
    empties it)."""

    name: ShortText = KEPT
    currency: CurrencyCode = KEPT
    entries: list[Entry] = Field(
        None, max_length=10_000, description="Left out: unchanged (never null)"
    )
