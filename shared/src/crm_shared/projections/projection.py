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
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

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
        """Empties the read model in place (with ``ConsumerState.reset``, a replay from the
        start; ``crm projections rebuild`` builds a new one beside it instead)."""

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None: ...


class ReadModel:
    """A projection whose read model is a few tables in one PostgreSQL schema of its own.

    A subclass declares its ``name``, ``topics``, ``handles``, its live ``schema``, its
    ``tables``, the statements that create them (``ddl``) and their secondary indexes
    (``indexes``), each idempotent (``IF NOT EXISTS``), and implements ``apply``.

    The schema is the instance's: ``in_schema`` gives the same read model addressing
    another schema, which is how a rebuild builds beside the live one and then swaps
    (``crm_shared.messaging.rebuild``). So a subclass builds its statements from
    ``self.schema`` (in ``__init__``), never from a constant; the schema holds nothing of
    another projection, and its consumer's positions live in it too.
    """

    name: ClassVar[str]
    topics: ClassVar[Sequence[str]]
    handles: ClassVar[Sequence[type[EventData]]]
    schema: str
    tables: ClassVar[Sequence[str]]
    ddl: Sequence[str]
    indexes: Sequence[str] = ()
    # Whether its consumer opens the personal fields of the events it handles: a read model
    # that keeps none of them says no, and asks no key service for people's keys.
    opens_personal_data: ClassVar[bool] = True

    def __init__(self, schema: str | None = None, *, indexed: bool = True) -> None:
        if schema is not None:
            self.schema = schema
        # A bulk load is faster without secondary indexes: a build creates them after.
        self.indexed = indexed

    def in_schema(self, schema: str, *, indexed: bool = True) -> Self:
        """This read model in ``schema`` (its tables, statements and indexes there)."""
        return type(self)(schema, indexed=indexed)

    async def setup(self, conn: AsyncConnection[Any]) -> None:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        for statement in self.ddl:
            await conn.execute(statement)
        if self.indexed:
            await self.create_indexes(conn)

    async def create_indexes(self, conn: AsyncConnection[Any]) -> None:
        for statement in self.indexes:
            await conn.execute(statement)

    async def drop(self, conn: AsyncConnection[Any]) -> None:
        tables = ", ".join(f'"{self.schema}"."{table}"' for table in self.tables)
        await conn.execute(f"TRUNCATE {tables}")

    async def apply(
        self, conn: AsyncConnection[Any], events: Sequence[ReceivedEvent[EventData]]
    ) -> None:
        raise NotImplementedError
