"""`crm dlq` looks up each dead letter where its consumer keeps its positions: a read
model's own schema when its service names it, else every service's consumer schema."""

from __future__ import annotations

from crm_shared.cli.dlq import _by_schema
from crm_shared.messaging.dead_letters import DeadLetter


def letter(consumer: str) -> DeadLetter:
    return DeadLetter("t.dlq", 0, 0, consumer, "t", 0, 0, "x", "a", 1, "E", b"")


def test_a_named_consumers_dead_letters_are_looked_up_in_its_own_schema_only() -> None:
    forecast, customer360 = letter("forecast"), letter("customer360")

    grouped = _by_schema(
        [forecast, customer360],
        {"forecast": "forecast", "customer360": "projections"},
        {"projections"},
    )

    assert grouped == {"projections": [customer360], "forecast": [forecast]}


def test_an_unnamed_consumers_dead_letters_are_looked_up_in_every_consumer_schema() -> None:
    board = letter("board")

    grouped = _by_schema([board], {}, {"followup_board", "projections"})

    assert grouped == {"followup_board": [board], "projections": [board]}
