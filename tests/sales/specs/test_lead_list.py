"""The lead list's row: given a lead's events, what the list keeps of it (no database)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from crm_sales.domain.lead import LeadStatus
from crm_sales.lead_list.rows import LeadRow, fold_all
from crm_shared.catalog.sales.leads import (
    LeadAssigned,
    LeadChanged,
    LeadConverted,
    LeadDisqualified,
    LeadQualified,
    LeadReassigned,
    LeadRegistered,
    LeadScoreChanged,
    LeadWorkStarted,
)
from crm_shared.events import EventData
from crm_shared.projections.specs import WHEN, history, received

GRACE = LeadRegistered(
    first_name="Grace",
    last_name="Hopper",
    email="grace@example.com",
    phone="+14155550123",
    job_title="VP Engineering",
    company_name="Acme",
    team="inside-sales",
    owner="alice",
    department="sales",
)


def row_of(*events: EventData) -> LeadRow:
    rows: dict = {}
    fold_all(rows, history(*events))
    (row,) = rows.values()
    return row


def test_a_registered_lead_is_listed_new_with_its_name_company_owner_and_team() -> None:
    row = row_of(GRACE)
    assert (row.status, row.name, row.email, row.company_name) == (
        LeadStatus.NEW,
        "Grace Hopper",
        "grace@example.com",
        "Acme",
    )
    assert (row.owner, row.team, row.department, row.score) == ("alice", "inside-sales", "sales", 0)
    assert row.created_at == row.updated_at == WHEN


def test_the_search_text_holds_name_email_and_company_case_folded() -> None:
    assert row_of(GRACE).search == "grace hopper grace@example.com acme"


def test_the_phone_is_not_kept() -> None:
    assert "+1415" not in repr(row_of(GRACE))


def test_a_change_touches_only_the_fields_it_names_and_a_null_clears() -> None:
    row = row_of(GRACE, LeadChanged(company_name="Initech", email=None))
    assert (row.company_name, row.email, row.first_name) == ("Initech", None, "Grace")


def test_the_status_follows_work_qualification_and_disqualification_with_its_reason() -> None:
    assert row_of(GRACE, LeadWorkStarted()).status is LeadStatus.WORKING
    disqualified = row_of(GRACE, LeadDisqualified(reason="no budget"))
    assert (disqualified.status, disqualified.disqualification_reason) == (
        LeadStatus.DISQUALIFIED,
        "no budget",
    )
    requalified = row_of(GRACE, LeadDisqualified(reason="no budget"), LeadQualified())
    assert (requalified.status, requalified.disqualification_reason) == (
        LeadStatus.QUALIFIED,
        None,
    )


def test_the_score_is_the_latest_one() -> None:
    assert row_of(GRACE, LeadScoreChanged(score=20), LeadScoreChanged(score=35)).score == 35


def test_a_reassignment_moves_the_owner_and_the_department() -> None:
    row = row_of(GRACE, LeadReassigned(owner="bob", department="emea"))
    assert (row.owner, row.department) == ("bob", "emea")


def test_a_reassignment_naming_a_team_moves_the_team_too() -> None:
    row = row_of(GRACE, LeadReassigned(owner="bob", department="sales", team="emea"))
    assert (row.owner, row.team) == ("bob", "emea")


def test_an_assignment_by_the_rules_moves_the_owner_and_the_team() -> None:
    row = row_of(GRACE, LeadAssigned(owner="bob", team="emea", rule="territory", territory=1))
    assert (row.owner, row.team, row.department) == ("bob", "emea", "sales")


def test_a_converted_lead_keeps_no_personal_data_and_points_at_its_contact() -> None:
    contact_id = uuid4()
    row = row_of(GRACE, LeadConverted(contact_id=contact_id))
    assert (row.status, row.contact_id) == (LeadStatus.CONVERTED, contact_id)
    assert (row.first_name, row.last_name, row.email, row.name) == (None, None, None, "")
    assert "grace" not in row.search
    assert row.company_name == "Acme"


def test_a_change_after_conversion_brings_no_personal_data_back() -> None:
    row = row_of(GRACE, LeadConverted(contact_id=uuid4()), LeadChanged(email="g@example.com"))
    assert row.email is None


def test_every_event_moves_the_version_and_the_update_time() -> None:
    lead_id = uuid4()
    later = WHEN + timedelta(hours=1)
    rows: dict = {}
    fold_all(rows, [received(GRACE, aggregate_id=lead_id)])
    fold_all(rows, [received(LeadWorkStarted(), aggregate_id=lead_id, version=2, time=later)])
    assert (rows[lead_id].version, rows[lead_id].updated_at) == (2, later)


def test_an_event_of_a_lead_never_registered_lists_nothing() -> None:
    rows: dict = {}
    assert fold_all(rows, [received(LeadQualified(), version=2)]) == set()
    assert rows == {}
