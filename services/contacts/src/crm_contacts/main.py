"""Composition root of the contacts service: settings, event store, group commit, relay, HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm_contacts.api import accounts, contacts
from crm_contacts.application import SCHEMA, ContactsApplication, ContactsEventStore
from crm_shared.eventstore.group_commit import GroupCommitter
from crm_shared.health import broker_check, database_check
from crm_shared.http.app import ReadinessCheck, create_service_app
from crm_shared.messaging.relay import Relay
from crm_shared.observability.logging import configure_logging
from crm_shared.privacy.endpoint import DataKeyEndpoint, data_keys_router
from crm_shared.service import ServiceDefinition
from crm_shared.settings import Settings, get_settings

NAME = "contacts"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if not settings.database_url or not settings.kafka_bootstrap_servers:
        raise RuntimeError("set CRM_DATABASE_URL and CRM_KAFKA_BOOTSTRAP_SERVERS (or use `crm up`)")
    database_url, bootstrap = settings.database_url, settings.kafka_bootstrap_servers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await asyncio.to_thread(
            ContactsEventStore, database_url, SCHEMA, settings.key_wrapper()
        )
        relay = Relay.for_service(NAME, store, SCHEMA, settings)
        committer = GroupCommitter(
            store,
            database_url,
            max_batch=settings.max_commands_per_transaction,
            on_commit=relay.wake,
        )
        await committer.start()
        if settings.relay_in_process:
            await relay.start()
        app.state.contacts = ContactsApplication(store, committer)
        app.state.data_keys = data_keys = DataKeyEndpoint(
            store.keyring, database_url, settings.data_key_cache_seconds
        )
        await data_keys.open()
        try:
            yield
        finally:
            await data_keys.close()
            await committer.stop()
            await relay.stop()
            store.close()

    def readiness() -> dict[str, ReadinessCheck]:
        return {
            "database": database_check(database_url),
            "broker": broker_check(bootstrap),
        }

    configure_logging(NAME, settings.log_level, settings.log_json)
    return create_service_app(
        service=NAME,
        title="CRM contacts",
        description=(
            "People (contacts) and companies (accounts), their interactions on every channel "
            "and their consent. Every change is an event on `crm.contacts.events`."
        ),
        settings=settings,
        lifespan=lifespan,
        routers=[contacts.router, accounts.router, data_keys_router()],
        readiness=readiness,
    )


def create_relay(settings: Settings) -> Relay:
    """The relay on its own (`crm relay contacts`, with CRM_RELAY_IN_PROCESS=false)."""
    if not settings.database_url:
        raise RuntimeError("set CRM_DATABASE_URL")
    store = ContactsEventStore(settings.database_url, SCHEMA, settings.key_wrapper())
    return Relay.for_service(NAME, store, SCHEMA, settings)


SERVICE = ServiceDefinition(
    name=NAME,
    title="Contacts",
    port=lambda s: s.contacts_port,
    app_factory="crm_contacts.main:create_app",
    relay=create_relay,
)
