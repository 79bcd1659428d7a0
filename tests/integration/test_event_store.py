"""The write path over real PostgreSQL: group commit, conflicts, idempotency, the log."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from crm_contacts.domain.contact import Contact
from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.domain import NotFound
from crm_shared.events import EventMetadata
from crm_shared.eventstore.group_commit import (
    ConcurrencyConflict,
    GroupCommitter,
    IdempotencyKeyReused,
    Outcome,
    UnitOfWork,
    VersionMismatch,
    check_version,
)
from crm_shared.observability.metrics import COMMAND_BATCH_SIZE
from tests.integration.helpers import store_for

META = EventMetadata(actor="user:test")


def register(contact_id: UUID, name: str = "A") -> object:
    def run(unit: UnitOfWork) -> Outcome:
        contact = Contact.register(
            contact_id, ContactRegistered(first_name=name, department="sales")
        )
        unit.add(contact)
        return Outcome(contact.id, contact.version, b"{}")

    return run


def rename(contact_id: UUID, name: str, expected: int | None = None) -> object:
    def run(unit: UnitOfWork) -> Outcome:
        contact = unit.get(Contact, contact_id)
        check_version(contact, expected)
        contact.update({"first_name": name})
        return Outcome(contact.id, contact.version, b"{}")

    return run


@pytest.fixture
async def committer(fresh_database: str):  # type: ignore[no-untyped-def]
    store = await asyncio.to_thread(store_for, fresh_database)
    committer = GroupCommitter(store, fresh_database, max_batch=500)
    await committer.start()
    yield committer
    await committer.stop()
    store.close()


def _batches_and_commands() -> tuple[float, float]:
    samples = {s.name: s.value for s in COMMAND_BATCH_SIZE.collect()[0].samples}
    return samples["crm_command_batch_size_count"], samples["crm_command_batch_size_sum"]


async def test_concurrent_commands_share_transactions_and_all_succeed(
    committer: GroupCommitter,
) -> None:
    transactions_before, commands_before = _batches_and_commands()
    ids = [uuid4() for _ in range(300)]
    outcomes = await asyncio.gather(
        *[committer.submit(register(i), touches=i, creates=True, metadata=META) for i in ids]  # type: ignore[arg-type]
    )
    assert [o.aggregate_id for o in outcomes] == ids
    transactions, commands = _batches_and_commands()
    assert commands - commands_before == 300
    assert transactions - transactions_before < 100, "concurrent commands should be batched"
    stored = await asyncio.to_thread(committer.app.load, Contact, ids[-1])
    assert stored.first_name == "A"


async def test_a_refused_command_does_not_affect_the_rest_of_its_batch(
    committer: GroupCommitter,
) -> None:
    good = [uuid4() for _ in range(20)]
    missing = uuid4()
    results = await asyncio.gather(
        *[committer.submit(register(i), touches=i, creates=True, metadata=META) for i in good[:10]],  # type: ignore[arg-type]
        committer.submit(rename(missing, "X"), touches=missing, metadata=META),  # type: ignore[arg-type]
        *[committer.submit(register(i), touches=i, creates=True, metadata=META) for i in good[10:]],  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert isinstance(results[10], NotFound)
    assert sum(isinstance(r, Outcome) for r in results) == 20


async def test_commands_on_one_aggregate_in_one_burst_apply_in_order(
    committer: GroupCommitter,
) -> None:
    contact_id = uuid4()
    await committer.submit(register(contact_id), touches=contact_id, creates=True, metadata=META)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *[
            committer.submit(rename(contact_id, f"N{i}"), touches=contact_id, metadata=META)
            for i in range(10)
        ]  # type: ignore[arg-type]
    )
    assert [o.version for o in outcomes] == list(range(2, 12))
    stored = await asyncio.to_thread(committer.app.load, Contact, contact_id)
    assert (stored.first_name, stored.version) == ("N9", 11)


def copy_name(from_id: UUID, to_id: UUID) -> object:
    """Renames ``to_id`` after ``from_id``, which it only reads."""

    def run(unit: UnitOfWork) -> Outcome:
        source, contact = unit.get(Contact, from_id), unit.get(Contact, to_id)
        contact.update({"first_name": source.first_name})
        return Outcome(contact.id, contact.version, b"{}")

    return run


async def test_a_command_reads_other_aggregates_loaded_in_its_batch_and_changes_only_its_own(
    committer: GroupCommitter,
) -> None:
    source, target = uuid4(), uuid4()
    for contact_id, name in ((source, "Ada"), (target, "B")):
        await committer.submit(
            register(contact_id, name),  # type: ignore[arg-type]
            touches=contact_id,
            creates=True,
            metadata=META,
        )
    # Reads of one aggregate by many commands of a batch, beside a change to it.
    targets = [uuid4() for _ in range(5)]
    for contact_id in targets:
        await committer.submit(
            register(contact_id), touches=contact_id, creates=True, metadata=META
        )  # type: ignore[arg-type]
    await asyncio.gather(
        committer.submit(copy_name(source, target), touches=target, metadata=META, reads=(source,)),  # type: ignore[arg-type]
        *[
            committer.submit(copy_name(source, t), touches=t, metadata=META, reads=(source,))  # type: ignore[arg-type]
            for t in targets
        ],
    )
    loaded = [await asyncio.to_thread(committer.app.load, Contact, i) for i in (target, *targets)]
    assert {contact.first_name for contact in loaded} == {"Ada"}
    stored_source = await asyncio.to_thread(committer.app.load, Contact, source)
    assert stored_source.version == 1, "a read aggregate records nothing"


async def test_a_command_changing_an_aggregate_it_only_reads_is_refused_and_records_nothing(
    committer: GroupCommitter,
) -> None:
    source, target = uuid4(), uuid4()
    for contact_id, name in ((source, "Ada"), (target, "B")):
        await committer.submit(
            register(contact_id, name),  # type: ignore[arg-type]
            touches=contact_id,
            creates=True,
            metadata=META,
        )
    with pytest.raises(LookupError):
        await committer.submit(
            copy_name(target, source),  # type: ignore[arg-type]
            touches=target,
            metadata=META,
            reads=(source,),
        )
    stored = await asyncio.to_thread(committer.app.load, Contact, source)
    assert stored.version == 1


async def test_a_command_reading_an_aggregate_it_did_not_declare_is_refused(
    committer: GroupCommitter,
) -> None:
    source, target = uuid4(), uuid4()
    for contact_id in (source, target):
        await committer.submit(
            register(contact_id), touches=contact_id, creates=True, metadata=META
        )  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        await committer.submit(copy_name(source, target), touches=target, metadata=META)  # type: ignore[arg-type]


async def test_a_stale_expected_version_is_refused_and_writes_nothing(
    committer: GroupCommitter,
) -> None:
    contact_id = uuid4()
    await committer.submit(register(contact_id), touches=contact_id, creates=True, metadata=META)  # type: ignore[arg-type]
    await committer.submit(rename(contact_id, "B", expected=1), touches=contact_id, metadata=META)  # type: ignore[arg-type]
    with pytest.raises(VersionMismatch):
        await committer.submit(
            rename(contact_id, "C", expected=1), touches=contact_id, metadata=META
        )  # type: ignore[arg-type]
    stored = await asyncio.to_thread(committer.app.load, Contact, contact_id)
    assert (stored.first_name, stored.version) == ("B", 2)


async def test_two_writer_processes_never_both_win_the_same_version(fresh_database: str) -> None:
    stores = [await asyncio.to_thread(store_for, fresh_database) for _ in range(2)]
    committers = [GroupCommitter(s, fresh_database) for s in stores]
    for c in committers:
        await c.start()
    try:
        contact_id = uuid4()
        await committers[0].submit(
            register(contact_id), touches=contact_id, creates=True, metadata=META
        )  # type: ignore[arg-type]
        results = await asyncio.gather(
            *[
                committers[i % 2].submit(
                    rename(contact_id, f"W{i}", expected=1), touches=contact_id, metadata=META
                )  # type: ignore[arg-type]
                for i in range(10)
            ],
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, Outcome)]
        losers = [r for r in results if isinstance(r, VersionMismatch | ConcurrencyConflict)]
        assert len(winners) == 1
        assert len(losers) == 9
        stored = await asyncio.to_thread(stores[0].load, Contact, contact_id)
        assert stored.version == 2
    finally:
        for c in committers:
            await c.stop()
        for s in stores:
            s.close()


async def test_an_idempotency_key_is_stored_with_the_events_and_replayed(
    committer: GroupCommitter,
) -> None:
    first_id, second_id = uuid4(), uuid4()
    first = await committer.submit(
        register(first_id),
        touches=first_id,
        creates=True,
        metadata=META,
        idempotency_key="k1",
        fingerprint="f",  # type: ignore[arg-type]
    )
    again = await committer.submit(
        register(second_id),
        touches=second_id,
        creates=True,
        metadata=META,
        idempotency_key="k1",
        fingerprint="f",  # type: ignore[arg-type]
    )
    assert again.aggregate_id == first.aggregate_id == first_id
    assert again.replayed
    with pytest.raises(NotFound):
        await asyncio.to_thread(committer.app.load, Contact, second_id)
    with pytest.raises(IdempotencyKeyReused):
        await committer.submit(
            register(uuid4()),
            touches=uuid4(),
            creates=True,
            metadata=META,
            idempotency_key="k1",
            fingerprint="other",  # type: ignore[arg-type]
        )


async def test_racing_requests_with_one_idempotency_key_write_once(fresh_database: str) -> None:
    stores = [await asyncio.to_thread(store_for, fresh_database) for _ in range(2)]
    committers = [GroupCommitter(s, fresh_database) for s in stores]
    for c in committers:
        await c.start()
    try:
        ids = [uuid4() for _ in range(6)]
        outcomes = await asyncio.gather(
            *[
                committers[n % 2].submit(
                    register(i),
                    touches=i,
                    creates=True,
                    metadata=META,
                    idempotency_key="race",
                    fingerprint="f",  # type: ignore[arg-type]
                )
                for n, i in enumerate(ids)
            ]
        )
        assert len({o.aggregate_id for o in outcomes}) == 1
        notifications = await asyncio.to_thread(stores[0].recorder.select_notifications, None, 100)
        assert len(notifications) == 1
    finally:
        for c in committers:
            await c.stop()
        for s in stores:
            s.close()


async def test_the_notification_log_numbers_events_in_commit_order(
    committer: GroupCommitter,
) -> None:
    ids = [uuid4() for _ in range(50)]
    await asyncio.gather(
        *[committer.submit(register(i), touches=i, creates=True, metadata=META) for i in ids]
    )  # type: ignore[arg-type]
    notifications = await asyncio.to_thread(committer.app.recorder.select_notifications, None, 1000)
    numbers = [n.id for n in notifications]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert {n.topic for n in notifications} == {"crm.contacts.contact.registered.v1"}


async def test_the_actor_and_correlation_id_are_stored_with_every_event(
    committer: GroupCommitter,
) -> None:
    contact_id = uuid4()
    meta = EventMetadata(actor="user:carol", correlation_id="req-9")
    await committer.submit(register(contact_id), touches=contact_id, creates=True, metadata=meta)  # type: ignore[arg-type]
    (event,) = await asyncio.to_thread(lambda: list(committer.app.events.get(contact_id)))
    assert event.metadata == meta
