"""A kind of CRM record needs only its aggregate, its two events and its view: creating,
changing, the policy and the routes come with ``crm_shared.records``."""

from __future__ import annotations

from functools import partial

import pytest
from fastapi import APIRouter, Request

from crm_shared.auth.principal import Principal, Role
from crm_shared.domain import Forbidden, NotFound
from crm_shared.events import EventData
from crm_shared.records.application import RecordsApplication
from crm_shared.records.commands import ArchiveRecord, ChangeRecord, CreateRecord
from crm_shared.records.events import Changes
from crm_shared.records.record import CrmRecord, RecordEvents
from crm_shared.records.routes import add_change_route, add_create_route, add_record_routes
from crm_shared.records.schemas import NewRecord
from crm_shared.records.views import RecordKind, RecordView
from crm_shared.specs import Specification
from crm_shared.values import Strict


class NoteWritten(EventData):
    text: str
    owner: str | None = None
    department: str


class NoteChanged(Changes):
    text: str | None = None


class Note(CrmRecord):
    creation_events = (NoteWritten,)
    events = RecordEvents(updated=NoteChanged)

    text: str  # taken from its creation event, with no applier of its own


class NoteView(RecordView):
    text: str


NOTE = RecordKind(Note, NoteView)
notes = Specification(lambda store: RecordsApplication(store, store, [NOTE]))
WriteNote = partial(CreateRecord, record_type=Note)
REP = Principal("rita", Role.SALES_REP, ("sales",))
OTHER_REP = Principal("rob", Role.SALES_REP, ("sales",))
SUPPORT = Principal("sue", Role.SERVICE_AGENT, ("support",))


async def test_a_record_of_a_new_kind_is_created_in_the_callers_department() -> None:
    await (
        notes.given()
        .when(WriteNote(values={"text": "call back"}, owner="rita"), by=REP)
        .then(NoteWritten(text="call back", owner="rita", department="sales"))
    )


async def test_a_record_of_a_new_kind_is_changed_by_its_owner() -> None:
    note = WriteNote(values={"text": "call back"}, owner="rita")
    given = notes.given({note.record_id: [NoteWritten(text="x", owner="rita", department="sales")]})
    change = ChangeRecord(record_type=Note, record_id=note.record_id, changes={"text": "done"})
    await given.when(change, by=REP).then(NoteChanged(text="done"))


async def test_a_record_of_a_new_kind_obeys_the_policy_with_no_code_of_its_own() -> None:
    written = NoteWritten(text="x", owner="rita", department="sales")
    note = WriteNote(values={}, owner="rita").record_id
    change = ChangeRecord(record_type=Note, record_id=note, changes={"text": "mine"})
    await notes.given({note: [written]}).when(change, by=OTHER_REP).then_refused(Forbidden)
    await notes.given({note: [written]}).when(change, by=SUPPORT).then_refused(NotFound)


async def test_a_kind_without_archiving_events_is_never_archived() -> None:
    written = NoteWritten(text="x", owner="rita", department="sales")
    note = WriteNote(values={}, owner="rita").record_id
    with pytest.raises(NotImplementedError):
        await (
            notes.given({note: [written]})
            .when(ArchiveRecord(record_type=Note, record_id=note), by=REP)
            .then()
        )


def test_a_kind_gets_the_routes_its_events_offer_and_no_others() -> None:
    async def application(request: Request) -> RecordsApplication:
        raise AssertionError("not called")

    router = APIRouter(prefix="/v1/notes")
    add_record_routes(router, NOTE, application=application, responses={})
    assert sorted(route.path for route in router.routes) == [  # type: ignore[attr-defined]
        "/v1/notes/{record_id}",
        "/v1/notes/{record_id}/history",
    ]


class NewNote(NewRecord):
    text: str


class NoteChanges(Strict):
    text: str | None = None


def test_a_kind_gets_create_and_change_routes_from_its_request_bodies_alone() -> None:
    router = APIRouter(prefix="/v1/notes")
    add_create_route(router, NOTE, body=NewNote)
    add_change_route(router, NOTE, body=NoteChanges)
    assert [
        (route.path, route.methods, route.operation_id)  # type: ignore[attr-defined]
        for route in router.routes
    ] == [("/v1/notes", {"POST"}, "create_note"), ("/v1/notes/{note_id}", {"PATCH"}, "update_note")]


def test_a_create_body_may_name_the_owner_and_the_department() -> None:
    body = NewNote.model_validate({"text": "x", "owner": None, "department": "support"})
    assert (body.owner, body.department, body.model_fields_set) == (
        None,
        "support",
        {"text", "owner", "department"},
    )
