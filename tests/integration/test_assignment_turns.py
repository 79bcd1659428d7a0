"""Assigning leads by the rules from two writers (two replicas' group commits) over one
real PostgreSQL: every lead is assigned, the reps get their fair share, and no turn is
given twice, because the turn and the lead's owner are stored in one transaction and a
writer that lost the race decides again on the fresh turn."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import orjson
import pytest

from crm_sales.application import SalesApplication, SalesEventStore
from crm_sales.assignment.commands import AssignLead, SetRep, SetTerritories
from crm_sales.commands import RegisterLead
from crm_sales.domain.assignment import Territory
from crm_sales.domain.assignment_rules import ASSIGNMENT_RULES_ID, AssignmentRules
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.eventstore.group_commit import GroupCommitter
from crm_shared.settings import Settings

MANAGER = CommandContext.of(Principal("mia", Role.MANAGER, ("sales",)))
REPS = ("ana", "ben", "cid")
LEADS = 24


@pytest.fixture
async def writers(fresh_database: str) -> AsyncIterator[list[SalesApplication]]:
    wrapper = Settings(embedded=True).key_wrapper()
    stores = [
        await asyncio.to_thread(SalesEventStore, fresh_database, "sales", wrapper) for _ in range(2)
    ]
    committers = [GroupCommitter(store, fresh_database) for store in stores]
    for committer in committers:
        await committer.start()
    yield [SalesApplication(s, c) for s, c in zip(stores, committers, strict=True)]
    for committer in committers:
        await committer.stop()
    for store in stores:
        store.close()


async def test_concurrent_assignments_from_two_writers_never_give_a_turn_twice(
    writers: list[SalesApplication],
) -> None:
    first = writers[0]
    await first.assignment.handle(SetTerritories(territories=(Territory("emea"),)), MANAGER)
    for rep in REPS:
        await first.assignment.handle(SetRep(user=rep, team="emea"), MANAGER)
    leads: list[UUID] = []
    for _ in range(LEADS):
        lead = RegisterLead(record_id=uuid4(), values={"country": "DE"}, owner="mia")
        leads.append((await first.handle(lead, MANAGER)).aggregate_id)

    outcomes = await asyncio.gather(
        *(
            writers[n % 2].assignment.handle(AssignLead(lead_id=lead), MANAGER)
            for n, lead in enumerate(leads)
        )
    )

    owners = Counter(orjson.loads(outcome.body)["owner"] for outcome in outcomes)
    assert owners == dict.fromkeys(REPS, LEADS // len(REPS))
    rules = await asyncio.to_thread(first.events.events_of, ASSIGNMENT_RULES_ID)
    turns = [e.data for e in rules if type(e.data).__name__ == "TurnTaken"]
    assert sorted(t.lead_id for t in turns) == sorted(leads)
    # Each turn follows the one before it: ana, ben, cid, ana, ... in the order recorded.
    assert [t.rep for t in turns] == [REPS[n % len(REPS)] for n in range(LEADS)]
    stored = AssignmentRules.project(None, rules)
    assert stored is not None
    assert stored.round_robin.last == {"emea": REPS[(LEADS - 1) % len(REPS)]}
