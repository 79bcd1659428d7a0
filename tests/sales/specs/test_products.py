"""Products: the catalogue is kept by managers and admins, read by every rep of its
department. A product's code is unique (its id derives from it, case aside) and never
changes; archiving takes a product out of sale."""

from __future__ import annotations

from typing import Any

import orjson

from crm_sales.catalogue.application import Catalogue
from crm_sales.catalogue.commands import ChangeProduct, create_product
from crm_sales.domain.product import Product, ProductCodeTaken, product_id
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.products import ProductArchived, ProductChanged, ProductCreated
from crm_shared.domain import Forbidden, NotFound
from crm_shared.records.commands import ArchiveRecord
from crm_shared.specs import Specification

spec = Specification(lambda store: Catalogue(store, store))

MANAGER = Principal("mia", Role.MANAGER, ("sales",))
SUPPORT_MANAGER = Principal("sam", Role.MANAGER, ("support",))
REP = Principal("rita", Role.SALES_REP, ("sales",))

SEAT = product_id("CRM-SEAT-Y")


def created(**fields: Any) -> ProductCreated:
    values: dict[str, Any] = {
        "code": "CRM-SEAT-Y",
        "name": "CRM seat (annual)",
        "owner": "mia",
        "department": "sales",
    }
    return ProductCreated(**{**values, **fields})


def create(code: str = "CRM-SEAT-Y", **fields: Any) -> Any:
    return create_product({"code": code, "name": "CRM seat (annual)", **fields}, "mia", "sales")


async def test_a_manager_creates_a_product_under_the_id_of_its_code() -> None:
    outcome = await spec.given().when(create(), by=MANAGER).then(created())
    assert outcome.aggregate_id == SEAT


async def test_a_code_already_taken_is_refused_whatever_its_case() -> None:
    await (
        spec.given({SEAT: [created()]})
        .when(create("crm-seat-y"), by=MANAGER)
        .then_refused(ProductCodeTaken)
    )


async def test_a_rep_may_not_create_a_product() -> None:
    await spec.given().when(create(), by=REP).then_refused(Forbidden)


async def test_a_rep_may_not_change_a_product_they_see() -> None:
    command = ChangeProduct(record_id=SEAT, changes={"name": "Seat"})
    await spec.given({SEAT: [created()]}).when(command, by=REP).then_refused(Forbidden)


async def test_a_product_out_of_sight_is_not_found_rather_than_forbidden() -> None:
    command = ChangeProduct(record_id=SEAT, changes={"name": "Seat"})
    await spec.given({SEAT: [created()]}).when(command, by=SUPPORT_MANAGER).then_refused(NotFound)


async def test_a_manager_takes_a_product_out_of_sale() -> None:
    command = ChangeProduct(record_id=SEAT, changes={"active": False})
    await (
        spec.given({SEAT: [created()]}).when(command, by=MANAGER).then(ProductChanged(active=False))
    )


async def test_a_manager_archives_a_product() -> None:
    command = ArchiveRecord(record_type=Product, record_id=SEAT, reason="replaced")
    await (
        spec.given({SEAT: [created()]})
        .when(command, by=MANAGER)
        .then(ProductArchived(reason="replaced"))
    )


def test_a_rep_reads_a_product_of_their_department() -> None:
    catalogue = spec.given({SEAT: [created()]}).application
    shown = orjson.loads(catalogue.read(Product, SEAT, REP).body)
    assert (shown["code"], shown["active"]) == ("CRM-SEAT-Y", True)
