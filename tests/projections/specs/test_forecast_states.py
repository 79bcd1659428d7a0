"""The forecast's fold: given a deal's or a quota's events, then its validity intervals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

from crm_projections.forecast.states import DealState, QuotaState, fold_deals, fold_quotas
from crm_sales.domain.opportunity_states import DealStatus
from crm_shared.events import EventData
from tests.projections.specs.deals import (
    at,
    changed,
    forecast_set,
    lost,
    opened,
    quota,
    reassigned,
    staged,
    story,
    won,
)


def states(*steps: tuple[str, EventData]) -> list[DealState]:
    return fold_deals({}, story(*steps)).added


def test_an_opened_deal_is_one_open_state_from_its_recording_on() -> None:
    [state] = states(("2026-10-01T09:00", opened(amount="1000", close_date=date(2026, 11, 15))))

    assert (state.status, state.stage, state.amount, state.close_date) == (
        DealStatus.OPEN,
        "prospecting",
        Decimal(1000),
        date(2026, 11, 15),
    )
    assert (state.valid_from, state.valid_to, state.created_at) == (
        at("2026-10-01T09:00"),
        None,
        at("2026-10-01T09:00"),
    )


def test_a_stage_change_ends_the_state_at_its_recording_and_starts_the_next() -> None:
    first, second = states(
        ("2026-10-01T09:00", opened()),
        ("2026-10-05T12:00", staged("proposal", 50, "best_case")),
    )

    assert first.valid_to == second.valid_from == at("2026-10-05T12:00")
    assert (second.stage, second.probability, second.category) == ("proposal", 50, "best_case")
    assert second.created_at == at("2026-10-01T09:00")
    assert second.valid_to is None


def test_a_forecast_set_by_hand_changes_probability_and_category_only() -> None:
    _, after = states(
        ("2026-10-01T09:00", opened()), ("2026-10-02T09:00", forecast_set(65, "commit"))
    )

    assert (after.stage, after.probability, after.category) == ("prospecting", 65, "commit")


def test_a_change_of_amount_close_date_or_team_starts_a_new_state() -> None:
    _, after = states(
        ("2026-10-01T09:00", opened(amount="1000")),
        (
            "2026-10-03T09:00",
            changed(amount=Decimal(1500), close_date=date(2027, 1, 10), team="smb"),
        ),
    )

    assert (after.amount, after.close_date, after.team) == (
        Decimal(1500),
        date(2027, 1, 10),
        "smb",
    )


def test_a_change_the_forecast_does_not_keep_starts_no_state() -> None:
    only = states(("2026-10-01T09:00", opened()), ("2026-10-03T09:00", changed(next_step="call")))

    assert len(only) == 1
    assert only[0].valid_to is None


def test_a_won_deal_is_closed_at_its_final_amount_on_its_close_date() -> None:
    _, after = states(
        ("2026-10-01T09:00", opened(amount="1000", close_date=date(2026, 12, 20))),
        ("2026-11-02T09:00", won("1200", date(2026, 11, 2))),
    )

    assert (after.status, after.amount, after.close_date) == (
        DealStatus.WON,
        Decimal(1200),
        date(2026, 11, 2),
    )
    assert (after.probability, after.category, after.stage) == (100, "closed", "closed_won")


def test_a_lost_deal_is_omitted_with_its_close_date() -> None:
    _, after = states(
        ("2026-10-01T09:00", opened(amount="1000")), ("2026-10-20T09:00", lost(date(2026, 10, 20)))
    )

    assert (after.status, after.close_date, after.probability, after.category) == (
        DealStatus.LOST,
        date(2026, 10, 20),
        0,
        "omitted",
    )


def test_a_reassigned_deal_changes_owner_and_department() -> None:
    _, after = states(
        ("2026-10-01T09:00", opened(owner="alice")),
        ("2026-10-02T09:00", reassigned("bob", "emea")),
    )

    assert (after.owner, after.department) == ("bob", "emea")


def test_a_batch_continues_the_stored_current_state() -> None:
    deal = uuid4()
    [stored] = fold_deals({}, story(("2026-10-01T09:00", opened()), aggregate_id=deal)).added
    later = story(
        ("2026-10-01T09:00", opened()),
        ("2026-10-04T09:00", staged("proposal", 50, "best_case")),
        ("2026-10-06T09:00", staged("negotiation", 80, "commit", was="proposal")),
        aggregate_id=deal,
    )[1:]

    intervals = fold_deals({deal: stored}, later)

    assert intervals.ended == {(deal, 1): at("2026-10-04T09:00")}
    assert [(s.version, s.stage, s.valid_to) for s in intervals.added] == [
        (2, "proposal", at("2026-10-06T09:00")),
        (3, "negotiation", None),
    ]


def test_an_event_of_a_deal_never_opened_adds_nothing() -> None:
    events = story(
        ("2026-10-01T09:00", opened()), ("2026-10-02T09:00", staged("proposal", 50, "best_case"))
    )

    intervals = fold_deals({}, events[1:])

    assert (intervals.ended, intervals.added) == ({}, [])


def test_a_quota_set_again_replaces_the_earlier_from_its_recording() -> None:
    target = uuid4()
    first, second = fold_quotas(
        {},
        story(
            ("2026-10-01T09:00", quota("100000")),
            ("2026-10-15T09:00", quota("120000")),
            aggregate_id=target,
        ),
    ).added

    assert (first.amount, first.valid_to) == (Decimal(100000), at("2026-10-15T09:00"))
    assert (second.amount, second.valid_to, second.per, second.who) == (
        Decimal(120000),
        None,
        "owner",
        "alice",
    )


def test_a_team_quota_is_kept_per_team() -> None:
    [state] = fold_quotas({}, story(("2026-10-01T09:00", quota("50000", owner=None)))).added

    assert isinstance(state, QuotaState)
    assert (state.per, state.who) == ("team", "enterprise")
