"""What a projection is: a read model fed by typed events.

A projection declares its name, the topics it reads, the event types it handles (the
catalog's current models: a record of an older version arrives upcast to one of them),
how to set up and empty its tables, and how to apply a batch of events. The consumer
(``crm_shared.messaging.consumer``) hands it only events of the types it handles, each
one once and in its aggregate's order, in the transaction that records how far it got.

``apply`` dispatches on the data's type with ``match`` (``case ContactRegistered()``),
never on strings cut from type names; a fold kept in pure functions over ``ReceivedEvent``
can be specified without a database (``crm_shared.projections.specs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from crm_shared.events import EventData, ReceivedEvent

if TYPE_CHECKING:  # only named: `crm projections --help` need not import the driver
    from psycopg import AsyncConnection


class Projection(Protocol):
    """A read model fed by events. ``apply`` gets only events it has not seen yet."""

    @property
    def name(self) -> str: ...

    @property
    def topics(self) -> Sequence[str]: ...

    @property
    def handles(self) -> Sequence[type[EventData]]: ...

    async def setup(self, conn: AsyncConnection[Any]) -> None:
        """Creates the read model's tables (idempotent: it runs at every start)."""

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        """Empties the read model, before a rebuild from the start of its topics."""

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None: ...


class ReadModel:
    """A projection whose read model is a few tables in one PostgreSQL schema.

    A subclass declares its ``name``, ``topics``, ``handles``, ``schema``, its ``tables``
    and the statements that create them (``ddl``, each idempotent: ``IF NOT EXISTS``),
    and implements ``apply``.
    """

    name: ClassVar[str]
    topics: ClassVar[Sequence[str]]
    handles: ClassVar[Sequence[type[EventData]]]
    schema: ClassVar[str]
    tables: ClassVar[Sequence[str]]
    ddl: ClassVar[Sequence[str]]

    async def setup(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        for statement in self.ddl:
            await conn.execute(statement)

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        tables = ", ".join(f'"{self.schema}"."{table}"' for table in self.tables)
        await conn.execute(f"TRUNCATE {tables}")

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        raise NotImplementedError
