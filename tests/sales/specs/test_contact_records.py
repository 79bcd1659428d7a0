"""The sales service's read model of the contacts service's contacts and accounts: what a
reference to one is checked against. Each row is the record's kind, its department and
whether it is archived or erased; nothing personal.

The fold is specified here without a database; how a row is judged by the policy is in
test_references.py."""

from __future__ import annotations

import dataclasses
from uuid import UUID, uuid4

from crm_sales.contact_records.read_model import ContactRecords
from crm_sales.contact_records.resolver import located
from crm_sales.contact_records.rows import ContactRecord, RecordKind, fold
from crm_sales.lead_list.read_model import LeadList
from crm_shared.auth.policy import Reference
from crm_shared.catalog.contacts import (
    AccountArchived,
    AccountCreated,
    AccountReassigned,
    AccountRestored,
    ContactArchived,
    ContactErased,
    ContactReassigned,
    ContactRegistered,
    ContactRestored,
)
from crm_shared.events import EventData
from crm_shared.messaging.kept_read_models import KeptReadModels, consumer_settings
from crm_shared.privacy.key_client import DataKeyClient
from crm_shared.projections.specs import history, received
from crm_shared.settings import Settings
from crm_shared.values import Email

ADA, ACME = uuid4(), uuid4()


def row_of(*events: EventData, record_id: UUID = ADA) -> ContactRecord | None:
    row: ContactRecord | None = None
    for event in history(*events, aggregate_id=record_id):
        row = fold(row, event) or row
    return row


def registered(department: str = "sales") -> ContactRegistered:
    return ContactRegistered(
        first_name="Ada",
        last_name="Lovelace",
        emails=[Email(address="ada@example.com")],
        department=department,
    )


def test_a_registered_contact_is_known_as_a_contact_of_its_department() -> None:
    assert row_of(registered()) == ContactRecord(ADA, RecordKind.CONTACT, "sales")


def test_a_created_account_is_known_as_an_account_of_its_department() -> None:
    created = AccountCreated(name="Acme", department="emea")
    assert row_of(created, record_id=ACME) == ContactRecord(ACME, RecordKind.ACCOUNT, "emea")


def test_the_row_keeps_nothing_of_the_persons_data() -> None:
    row = row_of(registered())
    assert row is not None
    kept = {str(getattr(row, f.name)) for f in dataclasses.fields(row)}
    assert not kept & {"Ada", "Lovelace", "ada@example.com"}


def test_a_reassigned_contact_moves_to_its_new_department() -> None:
    row = row_of(registered(), ContactReassigned(owner="bob", department="support"))
    assert row is not None and row.department == "support"


def test_a_reassigned_account_moves_to_its_new_department() -> None:
    created = AccountCreated(name="Acme", department="sales")
    row = row_of(created, AccountReassigned(owner=None, department="emea"), record_id=ACME)
    assert row is not None and row.department == "emea"


def test_an_archived_contact_is_marked_archived_and_a_restored_one_no_longer() -> None:
    archived = row_of(registered(), ContactArchived(reason="duplicate"))
    assert archived is not None and archived.archived
    restored = row_of(registered(), ContactArchived(reason=None), ContactRestored())
    assert restored is not None and not restored.archived


def test_an_archived_account_is_marked_archived_and_a_restored_one_no_longer() -> None:
    created = AccountCreated(name="Acme", department="sales")
    archived = row_of(created, AccountArchived(), record_id=ACME)
    assert archived is not None and archived.archived
    restored = row_of(created, AccountArchived(), AccountRestored(), record_id=ACME)
    assert restored is not None and not restored.archived


def test_an_erased_contact_stays_a_row_marked_erased() -> None:
    row = row_of(registered(), ContactErased())
    assert row == ContactRecord(ADA, RecordKind.CONTACT, "sales", erased=True)


def test_an_event_of_a_record_never_registered_here_makes_no_row() -> None:
    assert fold(None, received(ContactArchived(), aggregate_id=ADA, version=2)) is None


# --- what the policy is told of a row ---------------------------------------------------


def test_a_row_tells_its_department_and_whether_it_is_archived() -> None:
    row = ContactRecord(ACME, RecordKind.ACCOUNT, "emea", archived=True)
    target = located(row, Reference("account_id", "account", ACME))
    assert target is not None
    assert (target.scope.department, target.archived) == ("emea", True)


def test_a_row_of_another_kind_is_no_record_of_the_kind_referenced() -> None:
    row = ContactRecord(ACME, RecordKind.ACCOUNT, "sales")
    assert located(row, Reference("primary_contact_id", "contact", ACME)) is None


def test_an_erased_contact_is_no_record_to_reference() -> None:
    row = ContactRecord(ADA, RecordKind.CONTACT, "sales", erased=True)
    assert located(row, Reference("primary_contact_id", "contact", ADA)) is None


def test_an_id_with_no_row_is_no_record() -> None:
    assert located(None, Reference("account_id", "account", uuid4())) is None


# --- its consumer -----------------------------------------------------------------------


def test_its_consumer_gets_no_key_to_open_a_persons_fields_where_the_lists_do() -> None:
    keys = DataKeyClient(lambda service: f"http://{service}", dict)
    records, leads = ContactRecords(), LeadList()
    kept = KeptReadModels(
        [records, leads], consumer_settings(Settings(), "postgresql://crm@db/crm", "kafka:9092")
    )
    assert kept.settings_of(records, keys).keys is None
    assert kept.settings_of(leads, keys).keys is keys
