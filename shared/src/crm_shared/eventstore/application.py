"""The eventsourcing Application every service's write side is built on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper
from psycopg.conninfo import conninfo_to_dict

from crm_shared.domain import Aggregate, NotFound
from crm_shared.events import CATALOG, Catalog, DomainEvent
from crm_shared.eventstore.mapper import CatalogMapper
from crm_shared.eventstore.recorder import CrmApplicationRecorder, KeyChanges
from crm_shared.master_key import KeyWrapper
from crm_shared.privacy.keyring import DataKeyring, DataSubjectErased, KeyRow

A = TypeVar("A", bound=Aggregate)


@contextmanager
def setting_up(database_url: str, schema: str) -> Iterator[None]:
    """Creates the schema, and holds a lock while the caller creates its tables: several
    worker processes starting at once would otherwise race on CREATE TABLE IF NOT EXISTS
    (PostgreSQL answers the loser with a unique violation on its catalog)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"crm-setup:{schema}",))
        try:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"crm-setup:{schema}",))


def eventsourcing_env(database_url: str, schema: str, pool_size: int = 8) -> dict[str, str]:
    """eventsourcing is configured through environment-like keys; derive them from our URL."""
    info = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "crm_shared.eventstore.recorder:CrmApplicationRecorder",
        "POSTGRES_DBNAME": str(info.get("dbname", "postgres")),
        "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(info.get("port", "5432")),
        "POSTGRES_USER": str(info.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(info.get("password", "")),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # The database-function insert path skips the table lock that keeps the
        # notification log gap-free (docs/architecture.md, "No acknowledged event is
        # skipped"): keep it off.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }


class EventSourcedApplication(Application[UUID]):
    """An eventsourcing Application whose events are our catalog's, stored by type name,
    with personal data sealed by per-data subject keys kept in the same schema."""

    # The event types it stores and reads: every service's shared catalog, unless a
    # subclass names its own (a test's service, whose types must not be published).
    catalog: ClassVar[Catalog] = CATALOG

    def __init__(self, database_url: str, schema: str, key_wrapper: KeyWrapper) -> None:
        self.keyring = DataKeyring(self.name, schema, key_wrapper)
        with setting_up(database_url, schema):
            super().__init__(env=eventsourcing_env(database_url, schema))
        self.keyring.attach(self._fetch_keys)

    def construct_mapper(self) -> Mapper[UUID]:
        return CatalogMapper(self.keyring, self.catalog)

    @property
    def catalog_mapper(self) -> CatalogMapper:
        mapper = self.mapper
        assert isinstance(mapper, CatalogMapper)
        return mapper

    def _fetch_keys(self, data_subjects: Sequence[UUID]) -> list[KeyRow]:
        with self.crm_recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.keyring.select_statement, (list(data_subjects),))
            return [(row["data_subject_id"], row["wrapped_key"]) for row in cursor.fetchall()]

    @property
    def crm_recorder(self) -> CrmApplicationRecorder:
        recorder = self.recorder
        assert isinstance(recorder, CrmApplicationRecorder)
        return recorder

    def append(self, events: Sequence[DomainEvent]) -> None:
        """Stores events outside group commit (imports, tests, benchmarks), sealing their
        personal data like every other write."""
        mapper, keyring = self.catalog_mapper, self.keyring
        new_keys, erased = keyring.prepare_sync(mapper.data_subjects_to_seal(events))
        if erased:
            keyring.discard()
            raise DataSubjectErased(f"erased data subjects: {sorted(map(str, erased))}")
        erasing = mapper.erased_data_subjects(events)
        try:
            stored = [mapper.to_stored_event(e) for e in events]
            self.crm_recorder.insert_events(
                stored, keys=KeyChanges(keyring.wrapper.key_id, new_keys.wrapped, erasing)
            )
        except BaseException:
            keyring.discard()
            raise
        keyring.stored(new_keys, erasing)

    def events_of(self, aggregate_id: UUID) -> list[DomainEvent]:
        """Every event of one aggregate, oldest first, personal fields opened."""
        stored = self.recorder.select_events(aggregate_id)
        return self.catalog_mapper.to_domain_events(stored)

    def load(self, cls: type[A], aggregate_id: UUID) -> A:
        aggregate = cls.project(None, self.events_of(aggregate_id))
        if aggregate is None:
            raise NotFound(f"{cls.__name__.lower()} {aggregate_id} not found")
        return aggregate

    def close(self) -> None:
        self.factory.close()
