"""Follow-ups: the smallest complete service on the skeleton, the proof that one is a
short declaration (docs/adding-a-service.md). A follow-up is a CRM record (owner,
department) with a subject, done or not; the open ones are listed by a read model.

Two declarations, as contacts and projections are: the writer, whose events go to
``crm.followups.events``, and the reader, whose consumer folds them into a table. Its
event types live in a catalog of their own: the shared one is the published contract.
Neither is installed as an entry point, so `crm up` and the e2e stack never start them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from crm_shared.auth.policy import readable_departments
from crm_shared.events import Catalog, EventData, ReceivedEvent, event_type
from crm_shared.eventstore.application import EventSourcedApplication
from crm_shared.http.deps import CurrentPrincipal
from crm_shared.projections import ReadModel
from crm_shared.records import routes
from crm_shared.records.application import RecordsApplication
from crm_shared.records.events import Changes
from crm_shared.records.record import CrmRecord, RecordEvents
from crm_shared.records.schemas import NewRecord
from crm_shared.records.views import RecordKind, RecordView
from crm_shared.service import ServiceDefinition
from crm_shared.service_app import ReadModelConnection, event_sourced_app, read_model_app
from crm_shared.settings import Settings, get_settings
from crm_shared.values import ShortText, Strict

SERVICE = ServiceDefinition(
    name="followups",
    title="Follow-ups",
    port=8190,
    app_factory="tests.skeleton.service:create_app",
    event_store_schema="followups",
)
BOARD = ServiceDefinition(
    name="followup_board",
    title="Open follow-ups",
    port=8191,
    app_factory="tests.skeleton.service:create_board_app",
    publishes=False,
    consumes=(SERVICE.name,),
    consumer_schema="followup_board",
)

# --- events and the aggregate -------------------------------------------------------

EVENTS = Catalog()


@event_type("followups", "followup", "created", catalog=EVENTS)
class FollowUpCreated(EventData):
    subject: str
    done: bool = False
    owner: str | None = None
    department: str


@event_type("followups", "followup", "changed", catalog=EVENTS)
class FollowUpChanged(Changes):
    subject: str | None = None
    done: bool | None = None


class FollowUp(CrmRecord):
    creation_events = (FollowUpCreated,)
    events = RecordEvents(updated=FollowUpChanged)

    subject: str
    done: bool


class FollowUpView(RecordView):
    subject: str
    done: bool


FOLLOW_UP = RecordKind(FollowUp, FollowUpView)


class FollowUpStore(EventSourcedApplication):
    name = "followups"
    catalog = EVENTS


# --- the write side's routes --------------------------------------------------------


class NewFollowUp(NewRecord):
    subject: ShortText
    done: bool = False


class FollowUpChanges(Strict):
    subject: ShortText | None = None
    done: bool | None = None


router = APIRouter(prefix="/v1/followups", tags=["follow-ups"])
routes.add_create_route(router, FOLLOW_UP, body=NewFollowUp)
routes.add_change_route(router, FOLLOW_UP, body=FollowUpChanges)
routes.add_record_routes(router, FOLLOW_UP)


def create_app(settings: Settings | None = None) -> FastAPI:
    return event_sourced_app(
        SERVICE,
        settings or get_settings(),
        event_store=FollowUpStore,
        use_cases=lambda events, committer: RecordsApplication(events, committer, [FOLLOW_UP]),
        routers=[router],
    )


# --- the read side ----------------------------------------------------------------------


class OpenFollowUps(ReadModel):
    name = "open_followups"
    topics = (SERVICE.topic,)
    handles = (FollowUpCreated, FollowUpChanged)
    schema = "followup_board"
    tables = ("followups",)
    ddl = (
        """CREATE TABLE IF NOT EXISTS followup_board.followups (
            id uuid PRIMARY KEY, department text NOT NULL, doc jsonb NOT NULL)""",
    )

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        for event in events:
            # A change event holds only the fields it changed: merged into the document.
            doc = Jsonb(event.data.model_dump(mode="json"))
            match event.data:
                case FollowUpCreated(department=department):
                    await conn.execute(
                        "INSERT INTO followup_board.followups VALUES (%s, %s, %s)",
                        (event.aggregate_id, department, doc),
                    )
                case FollowUpChanged():
                    await conn.execute(
                        "UPDATE followup_board.followups SET doc = doc || %s WHERE id = %s",
                        (doc, event.aggregate_id),
                    )


board = APIRouter(prefix="/v1/open-followups", tags=["follow-ups"])


@board.get("", summary="The open follow-ups of the caller's departments")
async def open_followups(
    conn: ReadModelConnection, principal: CurrentPrincipal
) -> list[dict[str, Any]]:
    seen = readable_departments(principal)  # None: every department
    departments = None if seen is None else list(seen)
    rows = await conn.execute(
        """SELECT id, doc FROM followup_board.followups
        WHERE NOT (doc->>'done')::boolean AND (%s::text[] IS NULL OR department = ANY(%s))
        ORDER BY id""",
        (departments, departments),
    )
    return [{"id": str(id_), **doc} for id_, doc in await rows.fetchall()]


def create_board_app(settings: Settings | None = None) -> FastAPI:
    return read_model_app(
        BOARD,
        settings or get_settings(),
        projections=[OpenFollowUps()],
        routers=[board],
        catalog=EVENTS,
    )
