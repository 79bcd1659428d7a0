"""The sales service, declared: leads, pipelines, opportunities, activities and quotes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_sales.activity_list import SCHEMA as ACTIVITY_LIST
from crm_sales.cli import cli
from crm_sales.contact_links import SCHEMA as CONTACT_LINKS
from crm_sales.contact_records import SCHEMA as CONTACT_RECORDS
from crm_sales.deal_list import SCHEMA as DEAL_LIST
from crm_sales.lead_engagement import SCHEMA as LEAD_ENGAGEMENT
from crm_sales.lead_list import SCHEMA as LEAD_LIST
from crm_shared.roles import Role
from crm_shared.service import ServiceDefinition

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crm_shared.messaging.relay import Relay
    from crm_shared.settings import Settings

SERVICE = ServiceDefinition(
    name="sales",
    title="Sales",
    port=8102,
    app_factory="crm_sales.main:create_app",
    description=(
        "Leads, scored and qualified on their way to becoming customers; pipelines and the "
        "deals (opportunities) moving through their stages, and their quotes; tasks and "
        "appointments; the products and price books deals sell from; dated exchange rates "
        "and quotas. Every change is an event on `crm.sales.events`."
    ),
    # Marketers and service agents stay out: campaign responses and form submissions
    # reach leads as marketing's events, and the role gate is for the whole service, which
    # will hold deals, amounts and forecasts too.
    roles=frozenset({Role.ADMIN, Role.MANAGER, Role.SALES_REP}),
    # Contacts' events reach its contact links (an erased contact erases the lead it came
    # from) and its contact records (what a deal's or an activity's reference is checked
    # against), and converting a lead calls the contacts service (docs/architecture.md).
    # Contacts' interactions and marketing's campaign responses and form submissions
    # engage leads (crm_sales.lead_engagement).
    consumes=("contacts", "marketing"),
    event_store_schema="sales",
    relay="crm_sales.main:create_relay",
    cli=cli,
    # Where its read model's consumer keeps its positions and versions (`crm dlq`).
    consumer_schema=LEAD_LIST,
    consumers={
        "activity_list": ACTIVITY_LIST,
        "contact_links": CONTACT_LINKS,
        "contact_records": CONTACT_RECORDS,
        "deal_list": DEAL_LIST,
        "lead_engagement": LEAD_ENGAGEMENT,
    },
)


def create_app(settings: Settings | None = None) -> FastAPI:
    from crm_sales.activity_list.read_model import ActivityList
    from crm_sales.agenda import with_agenda
    from crm_sales.api import (
        activities,
        activity_list,
        assignment,
        calendar,
        deal_list,
        exchange_rates,
        lead_list,
        leads,
        opportunities,
        pipelines,
        products,
        quotas,
        quotes,
        scoring,
    )
    from crm_sales.application import SalesApplication, SalesEventStore
    from crm_sales.contact_links.contact_data import erase_contact_data
    from crm_sales.contact_links.erasure import erase_lead
    from crm_sales.contact_links.read_model import ContactLinks
    from crm_sales.contact_records.read_model import ContactRecords
    from crm_sales.contact_records.resolver import ContactRecordsInReadModel
    from crm_sales.deal_list.read_model import DealList
    from crm_sales.lead_engagement.engage import engage_lead
    from crm_sales.lead_engagement.read_model import LeadEngagement
    from crm_sales.lead_list.read_model import LeadList
    from crm_sales.scoring.sweeper import with_rescoring
    from crm_shared.service_app import event_sourced_app
    from crm_shared.settings import get_settings

    settings = settings or get_settings()
    links, records = ContactLinks(), ContactRecords()
    # References to contacts and accounts are checked against the read model, through the
    # app's query pool (open once the app has started).
    contacts = ContactRecordsInReadModel(lambda: app.state.pool, records)
    engagement = LeadEngagement()
    app = event_sourced_app(
        SERVICE,
        settings,
        event_store=SalesEventStore,
        use_cases=lambda events, committer: SalesApplication(events, committer, contacts=contacts),
        routers=[
            lead_list.router,
            leads.router,
            assignment.leads,
            assignment.rules,
            pipelines.router,
            deal_list.router,  # its GET before the records' /{id} routes
            opportunities.router,
            activity_list.router,  # its GET before the records' /{id} routes
            activities.router,
            calendar.router,
            products.products,
            products.price_books,
            exchange_rates.router,
            quotas.router,
            quotes.router,
            scoring.router,
        ],
        read_models=[LeadList(), ActivityList(), DealList(), links, engagement, records],
    )
    # The links erase through the app's use cases, which exist once the app has started.
    links.eraser = lambda lead_id, contact_id: erase_lead(app.state.use_cases, lead_id, contact_id)
    links.subject_eraser = lambda contact_id: erase_contact_data(
        app.state.use_cases.events, contact_id
    )
    engagement.engager = lambda engaged: engage_lead(app.state.use_cases, engaged)
    # The reminder scheduler reads the activity list (crm_sales.reminder_scheduler), the
    # rescoring sweeper the engagement model (crm_sales.scoring.sweeper).
    app = with_agenda(app, settings.database_url or "")
    return with_rescoring(app, settings.database_url or "")


def create_relay(settings: Settings) -> Relay:
    from crm_sales.application import SalesEventStore
    from crm_shared.service_app import event_sourced_relay

    return event_sourced_relay(SERVICE, settings, SalesEventStore)
