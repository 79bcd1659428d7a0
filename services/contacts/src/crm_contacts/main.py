"""The contacts service, declared: people, companies, interactions and consent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_shared.service import ServiceDefinition

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crm_shared.messaging.relay import Relay
    from crm_shared.settings import Settings

SERVICE = ServiceDefinition(
    name="contacts",
    title="Contacts",
    port=8101,
    app_factory="crm_contacts.main:create_app",
    description=(
        "People (contacts) and companies (accounts), their interactions on every channel "
        "and their consent. Every change is an event on `crm.contacts.events`."
    ),
    event_store_schema="contacts",
    relay="crm_contacts.main:create_relay",
    # Replicas share the commands; one relay leader per topic publishes (docs/architecture.md).
    replicas=2,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    from crm_contacts.api import accounts, contacts
    from crm_contacts.application import ContactsApplication, ContactsEventStore
    from crm_shared.service_app import event_sourced_app
    from crm_shared.settings import get_settings

    return event_sourced_app(
        SERVICE,
        settings or get_settings(),
        event_store=ContactsEventStore,
        use_cases=ContactsApplication,
        routers=[contacts.router, accounts.router],
    )


def create_relay(settings: Settings) -> Relay:
    from crm_contacts.application import ContactsEventStore
    from crm_shared.service_app import event_sourced_relay

    return event_sourced_relay(SERVICE, settings, ContactsEventStore)
