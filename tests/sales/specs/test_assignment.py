"""Assigning leads: territories (or the lead's own team) pick the team, then the team's
active reps take turns; the turn is a value handed back to the caller."""

from __future__ import annotations

from crm_sales.domain.assignment import (
    Assigned,
    LeadPlace,
    Rep,
    RoundRobin,
    Territory,
    Unassigned,
    assign,
)

REPS = (
    Rep("ana", "emea"),
    Rep("ben", "emea", active=False),
    Rep("cid", "emea"),
    Rep("dan", "americas"),
    Rep("eve", "apac", active=False),
)
TERRITORIES = (
    Territory("emea", countries=frozenset({"DE", "FR"}), regions=frozenset({"EMEA"})),
    Territory("americas", countries=frozenset({"US", "CA"})),
    Territory("apac", countries=frozenset({"JP"})),
    Territory("americas"),  # everything else
)
GERMAN = LeadPlace(country="DE")


def assigned(lead: LeadPlace, round_robin: RoundRobin) -> Assigned:
    result = assign(lead, TERRITORIES, REPS, round_robin)
    assert isinstance(result, Assigned)
    return result


def test_a_territory_picks_the_team_and_its_first_rep_takes_the_first_lead() -> None:
    first = assigned(GERMAN, RoundRobin())
    assert (first.team, first.rep) == ("emea", "ana")


def test_the_reps_take_turns_skipping_inactive_ones_and_wrapping_around() -> None:
    first = assigned(GERMAN, RoundRobin())
    second = assigned(GERMAN, first.round_robin)
    third = assigned(GERMAN, second.round_robin)
    assert [first.rep, second.rep, third.rep] == ["ana", "cid", "ana"]


def test_the_turn_is_a_value_the_caller_keeps() -> None:
    before = RoundRobin()
    after = assigned(GERMAN, before).round_robin
    assert before.last == {}
    assert after.last == {"emea": "ana"}


def test_each_team_keeps_its_own_turn() -> None:
    state = assigned(GERMAN, RoundRobin()).round_robin
    american = assigned(LeadPlace(country="US"), state)
    assert american.round_robin.last == {"emea": "ana", "americas": "dan"}


def test_a_region_matches_when_the_country_is_not_listed() -> None:
    assert assigned(LeadPlace(country="IE", region="EMEA"), RoundRobin()).team == "emea"


def test_a_lead_no_territory_names_goes_to_the_catch_all() -> None:
    assert assigned(LeadPlace(country="BR"), RoundRobin()).team == "americas"


def test_a_lead_that_names_its_team_skips_the_territories() -> None:
    assert assigned(LeadPlace(country="US", team="emea"), RoundRobin()).team == "emea"


def test_a_team_without_an_active_rep_leaves_the_lead_unassigned() -> None:
    result = assign(LeadPlace(country="JP"), TERRITORIES, REPS, RoundRobin())
    assert result == Unassigned("team 'apac' has no active rep", "apac")


def test_without_a_covering_territory_nobody_is_eligible() -> None:
    result = assign(LeadPlace(country="DE"), TERRITORIES[1:3], REPS, RoundRobin())
    assert isinstance(result, Unassigned)
    assert result.team is None


def test_a_rep_removed_from_the_team_restarts_the_turns() -> None:
    state = RoundRobin().after("emea", "zoe")
    assert assigned(GERMAN, state).rep == "ana"
