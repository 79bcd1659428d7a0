"""What the contacts specifications share: the application over an in-memory event store,
the callers, and the events a contact or an account starts with.

The callers belong to department "sales" unless their name says otherwise; "support" is
another department, out of the sight of everyone in sales but admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crm_contacts.application import ContactsApplication
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.contacts import AccountCreated, ContactRegistered
from crm_shared.specs import Specification

spec = Specification(lambda store: ContactsApplication(store, store))

ADMIN = Principal("boss", Role.ADMIN, ("hq",))
MANAGER = Principal("mia", Role.MANAGER, ("sales",))
SUPPORT_MANAGER = Principal("sam", Role.MANAGER, ("support",))
OWNER = Principal("rita", Role.SALES_REP, ("sales",))
OTHER_REP = Principal("rob", Role.SALES_REP, ("sales",))
SUPPORT_AGENT = Principal("sue", Role.SERVICE_AGENT, ("support",))
NO_DEPARTMENT = Principal("root", Role.ADMIN, ())

NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def registered(**fields: Any) -> ContactRegistered:
    """Ada, owned by rita in sales, unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "owner": "rita",
        "department": "sales",
    }
    return ContactRegistered(**(values | fields))


def account_created(**fields: Any) -> AccountCreated:
    """Acme, unowned in sales, unless ``fields`` say otherwise."""
    values: dict[str, Any] = {"name": "Acme", "owner": None, "department": "sales"}
    return AccountCreated(**(values | fields))
