"""Reading a record, its history and a person's export: a record out of the caller's
sight reads as if it did not exist."""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import ContactArchived, ContactUpdated
from crm_shared.domain import NotFound
from tests.contacts.specs.support import (
    ADMIN,
    OTHER_REP,
    SUPPORT_AGENT,
    account_created,
    registered,
    spec,
)

ADA, ACME = uuid4(), uuid4()


def test_anyone_of_the_department_reads_a_record_with_its_version() -> None:
    contacts = spec.given({ADA: [registered(owner="rita"), ContactArchived()]}).application
    outcome = contacts.read(Contact, ADA, OTHER_REP)
    assert outcome.version == 2
    assert orjson.loads(outcome.body)["archived"] is True


def test_a_record_of_another_department_reads_as_not_found() -> None:
    contacts = spec.given({ADA: [registered()]}).application
    with pytest.raises(NotFound):
        contacts.read(Contact, ADA, SUPPORT_AGENT)
    with pytest.raises(NotFound):
        contacts.history(Contact, ADA, SUPPORT_AGENT)
    with pytest.raises(NotFound):
        contacts.export(ADA, SUPPORT_AGENT)


def test_a_contact_is_not_found_as_an_account_nor_an_account_as_a_contact() -> None:
    contacts = spec.given({ADA: [registered()], ACME: [account_created()]}).application
    with pytest.raises(NotFound):
        contacts.read(Account, ADA, ADMIN)
    with pytest.raises(NotFound):
        contacts.read(Contact, ACME, ADMIN)


def test_history_shows_each_change_oldest_first_with_the_fields_old_and_new_values() -> None:
    given = spec.given({ADA: [registered(job_title="Analyst"), ContactUpdated(job_title="CTO")]})
    first, update = given.application.history(Contact, ADA, ADMIN)
    assert (first["version"], first["type"]) == (1, "crm.contacts.contact.registered.v1")
    assert {"field": "job_title", "old": None, "new": "Analyst"} in first["changes"]
    assert update["changes"] == [{"field": "job_title", "old": "Analyst", "new": "CTO"}]
    assert update["actor"] == "user:someone-before"


def test_an_export_holds_the_contact_and_every_change() -> None:
    given = spec.given({ADA: [registered(), ContactUpdated(job_title="CTO")]})
    document = given.application.export(ADA, ADMIN)
    assert document["format"] == "crm.contact.export.v1"
    assert (document["contact"]["first_name"], document["contact"]["job_title"]) == ("Ada", "CTO")
    assert [entry["version"] for entry in document["history"]] == [1, 2]
