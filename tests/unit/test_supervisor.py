"""`crm up` keeps every child running: the supervisor's policy, over fake children and a
fake clock."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

import pytest

from crm_shared.infra.supervisor import Backoff, ChildSpec, StartFailed, Supervisor

BACKOFF = Backoff(first=1.0, factor=2.0, longest=8.0, stable_after=60.0)


@dataclass
class FakeChild:
    name: str
    journal: list[str]
    status: int | None = None
    refuse_starts: int = 0
    starts: int = 0
    pids: list[int] = field(default_factory=lambda: [100])

    def start(self) -> None:
        if self.refuse_starts:
            self.refuse_starts -= 1
            raise RuntimeError("port in use")
        self.starts += 1
        self.status = None
        self.pids.append(self.pids[-1] + 1)
        self.journal.append(f"start {self.name}")

    def stop(self) -> None:
        self.journal.append(f"stop {self.name}")

    def spec(self) -> ChildSpec:
        return ChildSpec(
            self.name, self.start, lambda: self.status, self.stop, lambda: self.pids[-1]
        )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def journal() -> list[str]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reports() -> list[str]:
    return []


def supervise(
    children: list[FakeChild], clock: Clock, reports: list[str], on_restart: list[str] | None = None
) -> Supervisor:
    supervisor = Supervisor(
        [c.spec() for c in children],
        backoff=BACKOFF,
        report=reports.append,
        on_restart=lambda: (on_restart if on_restart is not None else []).append("restarted"),
        clock=clock,
    )
    supervisor.start_all()
    return supervisor


def test_the_pause_doubles_with_each_failure_in_a_row_up_to_the_longest() -> None:
    assert [BACKOFF.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_children_start_in_order(journal: list[str], clock: Clock, reports: list[str]) -> None:
    supervise([FakeChild("postgres", journal), FakeChild("contacts", journal)], clock, reports)
    assert journal == ["start postgres", "start contacts"]


def test_a_child_that_ended_starts_again_after_the_first_pause(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    broker = FakeChild("kafka", journal)
    supervisor = supervise([broker], clock, reports)
    broker.status = -signal.SIGKILL
    supervisor.check()
    clock.now += 0.9
    supervisor.check()
    assert broker.starts == 1
    clock.now += 0.1
    supervisor.check()
    assert broker.starts == 2


def test_the_others_keep_running_while_one_is_restarted(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    children = [FakeChild(n, journal) for n in ("postgres", "kafka", "contacts", "projections")]
    supervisor = supervise(children, clock, reports)
    children[3].status = -signal.SIGKILL
    supervisor.check()
    clock.now += 1.0
    supervisor.check()
    assert journal[4:] == ["start projections"]


def test_each_end_and_restart_is_one_line_naming_the_child_how_it_ended_and_the_pause(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    projections = FakeChild("projections", journal)
    supervisor = supervise([projections], clock, reports)
    projections.status = -signal.SIGKILL
    supervisor.check()
    clock.now += 1.0
    supervisor.check()
    assert reports == [
        "projections (pid 101) ended with signal SIGKILL; starting it again in 1.0 s",
        "projections started again (pid 102)",
    ]


def test_an_exit_code_is_reported_as_such(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    contacts = FakeChild("contacts", journal)
    supervisor = supervise([contacts], clock, reports)
    contacts.status = 3
    supervisor.check()
    assert "ended with exit code 3" in reports[0]


def test_failures_in_a_row_lengthen_the_pause(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    contacts = FakeChild("contacts", journal)
    supervisor = supervise([contacts], clock, reports)
    pauses = []
    for _ in range(3):
        contacts.status = 1
        supervisor.check()
        restart_at = clock.now
        while contacts.status is not None:
            clock.now += 0.5
            supervisor.check()
        pauses.append(clock.now - restart_at)
        clock.now += 5.0  # up a little while, not long enough to count as stable
    assert pauses == [1.0, 2.0, 4.0]


def test_a_child_that_stayed_up_long_enough_starts_again_after_the_first_pause(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    contacts = FakeChild("contacts", journal)
    supervisor = supervise([contacts], clock, reports)
    for _ in range(3):
        contacts.status = 1
        supervisor.check()
        clock.now += 10.0
        supervisor.check()
    clock.now += 60.0
    contacts.status = 1
    supervisor.check()
    assert reports[-1].endswith("starting it again in 1.0 s")


def test_a_child_that_cannot_start_again_is_tried_later_with_a_longer_pause(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    postgres = FakeChild("postgres", journal)
    supervisor = supervise([postgres], clock, reports)
    postgres.status = -signal.SIGKILL
    postgres.refuse_starts = 1
    supervisor.check()
    clock.now += 1.0
    supervisor.check()
    assert reports[-1] == (
        "postgres did not start (RuntimeError: port in use); next attempt in 2.0 s"
    )
    clock.now += 2.0
    supervisor.check()
    assert postgres.starts == 2


def test_a_restart_is_announced_to_whoever_keeps_the_pids(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    announced: list[str] = []
    kafka = FakeChild("kafka", journal)
    supervisor = supervise([kafka], clock, reports, on_restart=announced)
    kafka.status = -signal.SIGKILL
    supervisor.check()
    clock.now += 1.0
    supervisor.check()
    assert announced == ["restarted"]


def test_a_child_that_cannot_start_the_first_time_fails_the_start(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    postgres = FakeChild("postgres", journal, refuse_starts=1)
    supervisor = Supervisor([postgres.spec()], backoff=BACKOFF, report=reports.append)
    with pytest.raises(StartFailed, match="postgres did not start"):
        supervisor.start_all()


def test_stopping_stops_the_last_started_first(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    names = ("postgres", "kafka", "contacts")
    supervisor = supervise([FakeChild(n, journal) for n in names], clock, reports)
    journal.clear()
    supervisor.stop_all()
    assert journal == ["stop contacts", "stop kafka", "stop postgres"]


def test_a_failed_start_still_stops_what_did_start(
    journal: list[str], clock: Clock, reports: list[str]
) -> None:
    children = [FakeChild("postgres", journal), FakeChild("kafka", journal, refuse_starts=1)]
    supervisor = Supervisor([c.spec() for c in children], backoff=BACKOFF, clock=clock)
    with pytest.raises(StartFailed):
        supervisor.start_all()
    supervisor.stop_all()
    assert journal == ["start postgres", "stop kafka", "stop postgres"]
