"""How far behind a consumer says it is, for /readyz."""

from crm_shared.messaging.consumer import events_behind


def test_the_events_between_what_was_applied_and_each_partitions_end() -> None:
    ends = {("t", 0): 50, ("t", 1): 7}
    assert events_behind(ends, {("t", 0): 10, ("t", 1): 7}) == 40


def test_a_partition_never_applied_counts_from_its_start() -> None:
    assert events_behind({("t", 0): 5}, {}) == 5


def test_a_position_past_an_end_counts_as_none_behind_not_as_ahead() -> None:
    # The end a consumer knows may be older than what it has just applied.
    assert events_behind({("t", 0): 5, ("t", 1): 3}, {("t", 0): 9}) == 3


def test_unknown_until_the_broker_has_said_where_every_end_is() -> None:
    assert events_behind({("t", 0): 50, ("t", 1): None}, {("t", 0): 10}) is None


def test_nothing_assigned_is_nothing_behind() -> None:
    assert events_behind({}, {}) == 0
