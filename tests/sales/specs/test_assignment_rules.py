"""The assignment rules as recorded: managers set the territories and the roster, the
rules assign a lead by them and record the team's turn, and a lead registered without an
owner is assigned as it is registered. The rule itself is test_assignment.py's.

The callers belong to department "sales"."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson

from crm_sales.application import SalesApplication
from crm_sales.assignment.commands import AssignLead, SetRep, SetTerritories
from crm_sales.commands import RegisterLead
from crm_sales.domain.assignment import Territory
from crm_sales.domain.assignment_rules import ASSIGNMENT_RULES_ID, NoEligibleRep
from crm_sales.domain.lead import Lead, LeadAlreadyConverted, LeadErasedError
from crm_shared.auth.principal import Principal, Role
from crm_shared.catalog.sales.assignment_rules import (
    RepSet,
    TerritoriesSet,
    TerritoryRule,
    TurnTaken,
)
from crm_shared.catalog.sales.leads import (
    LeadAssigned,
    LeadConverted,
    LeadErased,
    LeadReassigned,
    LeadRegistered,
)
from crm_shared.commands import CommandContext
from crm_shared.domain import Forbidden
from crm_shared.eventstore.group_commit import VersionMismatch
from crm_shared.records.commands import ReassignRecord
from crm_shared.specs import Specification

rules_spec = Specification(lambda store: SalesApplication(store, store).assignment)
sales_spec = Specification(lambda store: SalesApplication(store, store))

MANAGER = Principal("mia", Role.MANAGER, ("sales",))
REP = Principal("rita", Role.SALES_REP, ("sales",))
GRACE, ADA = uuid4(), uuid4()

EMEA = TerritoryRule(team="emea", countries=["DE", "FR"])
CATCH_ALL = TerritoryRule(team="americas")
ROSTER = [
    TerritoriesSet(territories=[EMEA, CATCH_ALL]),
    RepSet(user="ana", team="emea", active=True),
    RepSet(user="ben", team="emea", active=False),
    RepSet(user="cid", team="emea", active=True),
    RepSet(user="dan", team="americas", active=True),
]


def unowned(**fields: Any) -> LeadRegistered:
    return LeadRegistered(**{"first_name": "Grace", "department": "sales", **fields})


# --- setting the rules ---------------------------------------------------------------


async def test_a_manager_sets_the_territories_in_order() -> None:
    territories = (Territory("emea", frozenset({"FR", "DE"})), Territory("americas"))
    await (
        rules_spec.given()
        .when(SetTerritories(territories=territories), by=MANAGER)
        .then(TerritoriesSet(territories=[EMEA, CATCH_ALL]))
    )


async def test_the_same_territories_again_record_nothing() -> None:
    territories = (Territory("emea", frozenset({"DE", "FR"})), Territory("americas"))
    await (
        rules_spec.given({ASSIGNMENT_RULES_ID: ROSTER})
        .when(SetTerritories(territories=territories), by=MANAGER)
        .then()
    )


async def test_a_manager_puts_a_rep_on_the_roster_or_deactivates_one() -> None:
    await (
        rules_spec.given({ASSIGNMENT_RULES_ID: ROSTER})
        .when(SetRep(user="ana", team="emea", active=False), by=MANAGER)
        .then(RepSet(user="ana", team="emea", active=False))
    )


async def test_a_rep_may_not_change_the_rules() -> None:
    await (
        rules_spec.given()
        .when(SetRep(user="rita", team="emea", active=True), by=REP)
        .then_refused(Forbidden)
    )


async def test_a_stale_version_of_the_rules_is_refused() -> None:
    await (
        rules_spec.given({ASSIGNMENT_RULES_ID: ROSTER})
        .when(SetRep(user="eve", team="emea"), by=MANAGER, if_match=3)
        .then_refused(VersionMismatch)
    )


def test_the_rules_show_the_roster_in_turn_order_and_whose_turn_it_was() -> None:
    history = {
        ASSIGNMENT_RULES_ID: [
            *ROSTER,
            TurnTaken(team="emea", rep="ana", lead_id=GRACE, rule="territory"),
        ]
    }
    view = rules_spec.given(history).application.rules()
    assert [r.user for r in view.reps] == ["ana", "ben", "cid", "dan"]
    assert view.turns == {"emea": "ana"}
    assert view.version == len(ROSTER) + 1


# --- assigning ---------------------------------------------------------------------------


async def test_assigning_gives_the_lead_to_the_next_active_rep_and_moves_the_turn() -> None:
    history = {
        ASSIGNMENT_RULES_ID: [
            *ROSTER,
            TurnTaken(team="emea", rep="ana", lead_id=ADA, rule="territory"),
        ],
        GRACE: [unowned(country="DE")],
    }
    await (
        rules_spec.given(history)
        .when(AssignLead(lead_id=GRACE), by=MANAGER)
        .then(
            LeadAssigned(owner="cid", team="emea", rule="territory", territory=1),
            TurnTaken(team="emea", rep="cid", lead_id=GRACE, rule="territory"),
        )
    )


async def test_a_lead_naming_its_team_is_assigned_within_it() -> None:
    history = {ASSIGNMENT_RULES_ID: ROSTER, GRACE: [unowned(country="DE", team="americas")]}
    await (
        rules_spec.given(history)
        .when(AssignLead(lead_id=GRACE), by=MANAGER)
        .then(
            LeadAssigned(owner="dan", team="americas", rule="lead_team"),
            TurnTaken(team="americas", rep="dan", lead_id=GRACE, rule="lead_team"),
        )
    )


async def test_nobody_eligible_records_nothing_and_says_why() -> None:
    history = {ASSIGNMENT_RULES_ID: ROSTER, GRACE: [unowned(team="apac")]}
    refusal = await (
        rules_spec.given(history)
        .when(AssignLead(lead_id=GRACE), by=MANAGER)
        .then_refused(NoEligibleRep)
    )
    assert str(refusal) == "team 'apac' has no active rep"


async def test_without_rules_nobody_is_eligible() -> None:
    await (
        rules_spec.given({GRACE: [unowned(country="DE")]})
        .when(AssignLead(lead_id=GRACE), by=MANAGER)
        .then_refused(NoEligibleRep)
    )


async def test_a_rep_may_not_assign_a_lead() -> None:
    history = {ASSIGNMENT_RULES_ID: ROSTER, GRACE: [unowned(country="DE")]}
    await rules_spec.given(history).when(AssignLead(lead_id=GRACE), by=REP).then_refused(Forbidden)


async def test_an_erased_lead_is_not_assigned() -> None:
    history = {ASSIGNMENT_RULES_ID: ROSTER, GRACE: [unowned(country="DE"), LeadErased()]}
    await (
        rules_spec.given(history)
        .when(AssignLead(lead_id=GRACE), by=MANAGER)
        .then_refused(LeadErasedError)
    )


async def test_a_converted_lead_is_not_assigned() -> None:
    converted = LeadConverted(contact_id=uuid4())
    history = {ASSIGNMENT_RULES_ID: ROSTER, GRACE: [unowned(country="DE"), converted]}
    await (
        rules_spec.given(history)
        .when(AssignLead(lead_id=GRACE), by=MANAGER)
        .then_refused(LeadAlreadyConverted)
    )


async def test_two_leads_assigned_one_after_the_other_take_two_turns() -> None:
    history = {
        ASSIGNMENT_RULES_ID: ROSTER,
        GRACE: [unowned(country="DE")],
        ADA: [unowned(country="FR")],
    }
    given = rules_spec.given(history)
    first = await given.application.handle(AssignLead(lead_id=GRACE), CommandContext.of(MANAGER))
    second = await given.application.handle(AssignLead(lead_id=ADA), CommandContext.of(MANAGER))
    owners = [orjson.loads(o.body)["owner"] for o in (first, second)]
    assert owners == ["ana", "cid"]


# --- registering -------------------------------------------------------------------------


async def test_a_lead_registered_without_an_owner_is_assigned_as_it_is_registered() -> None:
    values = {"first_name": "Grace", "country": "DE"}
    await (
        sales_spec.given({ASSIGNMENT_RULES_ID: ROSTER})
        .when(RegisterLead(record_id=GRACE, values=values, owner=None), by=MANAGER)
        .then(
            LeadRegistered(**values, owner=None, department="sales"),
            LeadAssigned(owner="ana", team="emea", rule="territory", territory=1),
            TurnTaken(team="emea", rep="ana", lead_id=GRACE, rule="territory"),
        )
    )


async def test_a_lead_nobody_is_eligible_for_is_still_registered_unassigned() -> None:
    values = {"first_name": "Grace", "team": "apac"}
    await (
        sales_spec.given({ASSIGNMENT_RULES_ID: ROSTER})
        .when(RegisterLead(record_id=GRACE, values=values, owner=None), by=MANAGER)
        .then(LeadRegistered(**values, owner=None, department="sales"))
    )


async def test_a_lead_registered_with_an_owner_is_not_assigned_by_the_rules() -> None:
    values = {"first_name": "Grace", "country": "DE"}
    await (
        sales_spec.given({ASSIGNMENT_RULES_ID: ROSTER})
        .when(RegisterLead(record_id=GRACE, values=values, owner="rita"), by=REP)
        .then(LeadRegistered(**values, owner="rita", department="sales"))
    )


# --- a manager's own choice ------------------------------------------------------------


def reassign(**details: Any) -> ReassignRecord[Lead]:
    return ReassignRecord(
        record_type=Lead, record_id=GRACE, owner="bob", department="sales", details=details
    )


async def test_a_manager_reassigning_a_lead_may_set_its_team_in_the_same_event() -> None:
    await (
        sales_spec.given({GRACE: [unowned(team="emea")]})
        .when(reassign(team="americas"), by=MANAGER)
        .then(LeadReassigned(owner="bob", department="sales", team="americas"))
    )


async def test_a_reassignment_naming_no_team_leaves_the_team() -> None:
    given = sales_spec.given({GRACE: [unowned(team="emea")]})
    await given.when(reassign(), by=MANAGER).then(LeadReassigned(owner="bob", department="sales"))
    lead = given.application.load(Lead, GRACE)
    assert (lead.owner, lead.team) == ("bob", "emea")


async def test_only_a_new_team_is_a_reassignment_too() -> None:
    given = {GRACE: [unowned(team="emea", owner="bob")]}
    await (
        sales_spec.given(given)
        .when(reassign(team="americas"), by=MANAGER)
        .then(LeadReassigned(owner="bob", department="sales", team="americas"))
    )
