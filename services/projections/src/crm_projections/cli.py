"""`crm projections ...`: rebuild a read model beside the live one, show positions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # a command imports its Kafka and PostgreSQL clients when it runs
    from crm_shared.messaging.consumer import ConsumerSettings
    from crm_shared.messaging.rebuild import Rebuilt
    from crm_shared.settings import Settings

cli = typer.Typer(no_args_is_help=True, help="Operate the read models (projections).")


def consumer_settings(settings: Settings) -> ConsumerSettings:
    from crm_projections.projections import SCHEMA
    from crm_shared.infra.running_stack import where_to_find
    from crm_shared.messaging.consumer import ConsumerSettings
    from crm_shared.privacy.key_client import DataKeyClient

    if not settings.database_url or not settings.kafka_bootstrap_servers:
        raise typer.BadParameter(where_to_find("CRM_DATABASE_URL", "CRM_KAFKA_BOOTSTRAP_SERVERS"))
    return ConsumerSettings(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        database_url=settings.database_url,
        schema=SCHEMA,
        batch_size=settings.consumer_batch_size,
        max_retries=settings.consumer_max_retries,
        poll_ms=settings.consumer_poll_ms,
        keys=DataKeyClient.for_consumer(settings, "projections"),
        build_processes=settings.rebuild_processes,
    )


async def rebuild_projection(name: str, settings: ConsumerSettings) -> Rebuilt:
    """Builds the read model beside the live one from the start of its topics, then swaps
    it in (``crm_shared.messaging.rebuild``)."""
    from crm_projections.projections import all_projections
    from crm_shared.messaging.rebuild import CannotRebuild, rebuild
    from crm_shared.projections import ReadModel

    projection = all_projections()[name]
    if not isinstance(projection, ReadModel):
        raise CannotRebuild(f"{name} is not a ReadModel: it cannot be built beside itself")
    return await rebuild(projection, settings)


@cli.command()
def rebuild(name: Annotated[str, typer.Argument(help="customer360 or forecast")]) -> None:
    """Rebuild a read model from the beginning of its topics, beside the live one.

    The live model keeps answering while the new one is built in <schema>_build; the
    other read models are not touched (each has its own schema and positions).
    One transaction then swaps them; the running consumers apply what was written
    meanwhile, from the new model's offsets. The topics' partitions are shared among
    CRM_REBUILD_PROCESSES processes (default: one per core, at most one per partition).
    """
    import asyncio

    from crm_projections.projections import all_projections
    from crm_shared.infra.running_stack import command_settings
    from crm_shared.messaging.rebuild import CannotRebuild

    if name not in all_projections():
        raise typer.BadParameter(
            f"unknown projection {name!r}; known: {', '.join(all_projections())}"
        )
    try:
        rebuilt = asyncio.run(
            rebuild_projection(name, consumer_settings(command_settings("projections")))
        )
    except CannotRebuild as refused:
        typer.echo(f"crm projections rebuild: {refused}", err=True)
        raise typer.Exit(1) from None
    rate = rebuilt.events / rebuilt.seconds if rebuilt.seconds else 0.0
    typer.echo(
        f"rebuilt {name} and swapped it in: {rebuilt.events} events in {rebuilt.seconds:.2f} s"
        f" ({rate:,.0f} events/s, {rebuilt.processes} process"
        f"{'' if rebuilt.processes == 1 else 'es'})"
    )


async def projection_status(settings: ConsumerSettings) -> list[dict[str, Any]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from psycopg import AsyncConnection

    from crm_projections.projections import all_projections
    from crm_shared.messaging.consumer import ConsumerState
    from crm_shared.messaging.offsets import end_offsets
    from crm_shared.projections import ReadModel

    rows: list[dict[str, Any]] = []
    kafka = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await kafka.start()
    try:
        async with await AsyncConnection.connect(settings.database_url) as conn:
            for projection in all_projections().values():
                # A read model's positions are in its own schema (as its consumer keeps them).
                schema = projection.schema if isinstance(projection, ReadModel) else settings.schema
                state = ConsumerState(schema, projection.name)
                try:
                    offsets = await state.load_offsets(conn)
                except Exception:
                    await conn.rollback()
                    offsets = {}
                for topic in projection.topics:
                    partitions = sorted(kafka.partitions_for_topic(topic) or [])
                    tps = [TopicPartition(topic, p) for p in partitions]
                    ends = await end_offsets(settings.bootstrap_servers, tps)
                    for tp in tps:
                        position = offsets.get((topic, tp.partition), 0)
                        rows.append(
                            {
                                "projection": projection.name,
                                "topic": topic,
                                "partition": tp.partition,
                                "position": position,
                                "end": ends[tp],
                                "lag": max(ends[tp] - position, 0),
                            }
                        )
    finally:
        await kafka.stop()
    return rows


@cli.command()
def status() -> None:
    """Show each projection's position and lag per partition."""
    import asyncio

    from crm_shared.infra.running_stack import command_settings

    rows = asyncio.run(projection_status(consumer_settings(command_settings("projections"))))
    typer.echo(
        f"{'projection':<14} {'topic':<24} {'part':>4} {'position':>10} {'end':>10} {'lag':>8}"
    )
    for r in rows:
        typer.echo(
            f"{r['projection']:<14} {r['topic']:<24} {r['partition']:>4} {r['position']:>10}"
            f" {r['end']:>10} {r['lag']:>8}"
        )
