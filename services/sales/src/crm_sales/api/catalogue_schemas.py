"""Request bodies of the product and price book routes."""

from __future__ import annotations

from typing import Annotated, TypeVar
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from crm_sales.api.deal_schemas import UnitPrice
from crm_sales.api.planning_schemas import CurrencyCode
from crm_shared.records.schemas import NewRecord
from crm_shared.values import LongText, ShortText, Strict

T = TypeVar("T")

ProductCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$"),
    Field(description="The product's code (SKU): unique without regard to case, never changes"),
]


KEPT = "Left out: unchanged (never null)"


def _not_null(value: T | None) -> T:
    # Defaults are not validated: only a null that was sent reaches here.
    if value is None:
        raise ValueError("may be left out, but not null: the record cannot be without it")
    return value


class ProductFields(Strict):
    name: ShortText | None = Field(None, description=KEPT)
    description: LongText | None = None
    family: ShortText | None = None
    active: bool | None = Field(None, description=KEPT)

    _kept = field_validator("name", "active")(_not_null)


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
    # Exact: a JSON float is refused (it is a binary fraction by the time it is read).
    unit_price: Annotated[UnitPrice, Field(description="In the price book's currency")]


class DefinePriceBook(NewRecord):
    name: ShortText
    currency: CurrencyCode
    standard: bool = Field(False, description="The standard price book (there is one)")
    entries: list[Entry] = Field(default_factory=list, max_length=10_000)


class ChangePriceBook(Strict):
    """Only the fields present change; ``entries`` replaces the whole list (``[]``
    empties it)."""

    name: ShortText | None = Field(None, description=KEPT)
    currency: CurrencyCode | None = Field(None, description=KEPT)
    entries: list[Entry] | None = Field(None, max_length=10_000, description=KEPT)

    _kept = field_validator("name", "currency", "entries")(_not_null)
