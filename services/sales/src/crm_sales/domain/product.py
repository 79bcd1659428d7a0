"""A product: what the company sells, known by its code (SKU).

A product's code is unique among all products, archived ones included, and never changes:
the product's id is derived from it (``product_id``), so the event store itself refuses a
second product with the same code (two streams cannot both start at version 1), with no
read model to consult and no race between two people creating it at once. Codes compare
without regard to case: ``crm-seat`` and ``CRM-SEAT`` are the same product.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from crm_shared.catalog.sales.products import (
    ProductArchived,
    ProductChanged,
    ProductCreated,
    ProductRestored,
)
from crm_shared.domain import Conflict
from crm_shared.records.record import CrmRecord, RecordEvents

_PRODUCTS = UUID("c4e8a2b6-1f3d-4a5c-8b7e-9d0f1a2b3c4d")


def product_id(code: str) -> UUID:
    return uuid5(_PRODUCTS, f"product:{code.strip().casefold()}")


class ProductCodeTaken(Conflict):
    """Another product (perhaps archived, perhaps in another department) has this code."""

    code = "product_code_taken"


class Product(CrmRecord):
    creation_events = (ProductCreated,)
    events = RecordEvents(
        updated=ProductChanged, archived=ProductArchived, restored=ProductRestored
    )

    code: str
    name: str
    description: str | None
    family: str | None
    active: bool
