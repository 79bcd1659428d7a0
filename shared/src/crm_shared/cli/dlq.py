"""`crm dlq ...`: see what the consumers could not apply, and redrive it once fixed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the CLI imports what a command needs when it runs
    from crm_shared.messaging.dead_letters import DeadLetter

cli = typer.Typer(no_args_is_help=True, help="Dead letters: list them, redrive them.")


def _where() -> tuple[str, str, dict[str, str], set[str]]:
    """The broker, the database, the schema of each consumer the installed services name,
    and each service's consumer schema (where any other consumer's positions are)."""
    from crm_shared.infra.running_stack import command_settings, where_to_find
    from crm_shared.service import installed_services

    settings = command_settings("dlq")
    if not settings.database_url or not settings.kafka_bootstrap_servers:
        where = where_to_find("CRM_DATABASE_URL", "CRM_KAFKA_BOOTSTRAP_SERVERS")
        raise SystemExit(f"crm dlq: {where}")
    services = installed_services().values()
    by_consumer = {name: schema for d in services for name, schema in d.consumers.items()}
    fallback = {d.consumer_schema for d in services if d.consumer_schema}
    return settings.kafka_bootstrap_servers, settings.database_url, by_consumer, fallback


def _by_schema(
    letters: list[DeadLetter], by_consumer: dict[str, str], fallback: set[str]
) -> dict[str, list[DeadLetter]]:
    """The dead letters to look up in each schema: a consumer's own, where it is known."""
    grouped: dict[str, list[DeadLetter]] = {schema: [] for schema in fallback}
    for letter in letters:
        schema = by_consumer.get(letter.consumer)
        for where in [schema] if schema else fallback:
            grouped.setdefault(where, []).append(letter)
    return grouped


def _dlq_topics() -> list[str]:
    from crm_shared.messaging.topics import all_topics

    return [t for t in all_topics() if t.endswith(".dlq")]


@cli.command("list")
def list_dead_letters(
    all_: Annotated[bool, typer.Option("--all", help="Also those applied since")] = False,
) -> None:
    """Show each dead letter: where it came from, what failed, whether it is still pending."""
    import asyncio

    from crm_shared.messaging.dead_letters import read_dead_letters, still_pending

    bootstrap, database_url, by_consumer, fallback = _where()

    async def gather() -> list[tuple[DeadLetter, bool]]:
        letters = await read_dead_letters(bootstrap, _dlq_topics())
        rows: list[tuple[DeadLetter, bool]] = []
        for schema, theirs in _by_schema(letters, by_consumer, fallback).items():
            rows += await still_pending(theirs, database_url, schema)
        return rows

    rows = asyncio.run(gather())
    typer.echo(f"{'consumer':<14} {'from':<30} {'event':<44} {'version':>7}  status   error")
    shown = 0
    for letter, pending in rows:
        if not pending and not all_:
            continue
        shown += 1
        origin = f"{letter.topic}-{letter.partition}@{letter.offset}"
        typer.echo(
            f"{letter.consumer:<14} {origin:<30} {letter.event_type or '-':<44}"
            f" {letter.version if letter.version is not None else '-':>7}"
            f"  {'pending' if pending else 'applied'}  {letter.error}"
        )
    typer.echo(f"{shown} dead letter(s)" + ("" if all_ else " pending"))


@cli.command("redrive")
def redrive_dead_letters(
    consumer: Annotated[
        str | None, typer.Option(help="Only this consumer's dead letters (e.g. customer360)")
    ] = None,
) -> None:
    """Apply the pending dead letters again, in order, once their cause is fixed."""
    import asyncio

    from crm_shared.messaging.dead_letters import read_dead_letters, redrive

    bootstrap, database_url, by_consumer, fallback = _where()

    async def run() -> int:
        letters = await read_dead_letters(bootstrap, _dlq_topics())
        if consumer is not None:
            letters = [d for d in letters if d.consumer == consumer]
        rewound = 0
        for schema, theirs in _by_schema(letters, by_consumer, fallback).items():
            for r in await redrive(theirs, bootstrap, database_url, schema):
                rewound += 1
                typer.echo(
                    f"{r.consumer}: {r.topic}-{r.partition} from offset {r.to_offset}"
                    f" ({r.dead_letters} dead letter(s))"
                )
        return rewound

    if not asyncio.run(run()):
        typer.echo("nothing to redrive")
    else:
        typer.echo("the running consumers reposition within a second")
