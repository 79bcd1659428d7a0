"""A failure retried ten times a second is logged when it starts, then ever more rarely."""

from __future__ import annotations

import logging

import pytest

from crm_shared.observability.repeats import RepeatedRecordsFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def quieter(clock: Clock) -> RepeatedRecordsFilter:
    return RepeatedRecordsFilter(("aiokafka",), first=1.0, longest=4.0, quiet=10.0, clock=clock)


def record(
    name: str = "aiokafka", msg: str = "Unable connect to node with id %s"
) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, (111,), None)


def shown_over(quieter: RepeatedRecordsFilter, clock: Clock, seconds: float) -> list[str]:
    """Ten like records a second for ``seconds``: the messages let through."""
    shown = []
    start = clock.now
    for tenth in range(round(seconds * 10)):
        clock.now = start + tenth / 10
        line = record()
        if quieter.filter(line):
            shown.append(line.getMessage())
    clock.now = start + seconds
    return shown


def test_the_first_of_a_run_is_shown_at_once(quieter: RepeatedRecordsFilter, clock: Clock) -> None:
    assert shown_over(quieter, clock, 0.5) == ["Unable connect to node with id 111"]


def test_later_ones_are_shown_ever_more_rarely_each_counting_those_not_shown(
    quieter: RepeatedRecordsFilter, clock: Clock
) -> None:
    shown = shown_over(quieter, clock, 20)
    # at 0, 1, 3 and 7 s, then every 4 s (the longest pause): 11, 15 and 19 s
    assert len(shown) == 7
    assert shown[1] == "Unable connect to node with id 111 (and 9 more like it, not shown)"
    assert shown[2].endswith("(and 19 more like it, not shown)")


def test_after_a_quiet_spell_the_next_failure_is_shown_at_once(
    quieter: RepeatedRecordsFilter, clock: Clock
) -> None:
    shown_over(quieter, clock, 5)
    clock.now += 10.0
    assert shown_over(quieter, clock, 0.1) == ["Unable connect to node with id 111"]


def test_different_messages_are_runs_of_their_own(quieter: RepeatedRecordsFilter) -> None:
    assert quieter.filter(record(msg="Unable connect to node with id %s"))
    assert quieter.filter(record(msg="Unable to update metadata from [%s]"))
    assert quieter.filter(record(name="aiokafka.consumer.fetcher"))


def test_other_loggers_are_left_alone(quieter: RepeatedRecordsFilter) -> None:
    assert all(quieter.filter(record(name="crm_shared.messaging.relay")) for _ in range(5))
