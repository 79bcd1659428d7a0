"""`crm sales ...`: the sales service's own commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # a command imports its PostgreSQL client when it runs
    from crm_shared.settings import Settings

cli = typer.Typer(no_args_is_help=True, help="Operate the sales service.")


def seed_pipelines(settings: Settings, department: str) -> list[str]:
    """Defines the default pipelines not yet defined; the names of those it defined."""
    from crm_sales.application import SalesEventStore
    from crm_sales.default_pipelines import undefined_defaults
    from crm_shared.catalog.sales.opportunities import PipelineDefined
    from crm_shared.infra.running_stack import where_to_find
    from crm_shared.service import service

    schema = service("sales").event_store_schema
    if not settings.database_url or schema is None:
        raise typer.BadParameter(where_to_find("CRM_DATABASE_URL"))
    store = SalesEventStore(settings.database_url, schema, settings.key_wrapper())
    try:
        events = undefined_defaults(store.events_of, department)
        if events:
            store.append(events)
    finally:
        store.close()
    return [e.data.name for e in events if isinstance(e.data, PipelineDefined)]


@cli.command("seed-pipelines")
def seed_pipelines_command(
    department: Annotated[
        str, typer.Option(help="The department the default pipelines belong to")
    ] = "sales",
) -> None:
    """Define the default pipelines (new_business, renewals) that are not defined yet.

    Safe to run again: a default already defined, even renamed or archived since, is
    left as it is."""
    from crm_shared.infra.running_stack import command_settings

    defined = seed_pipelines(command_settings("sales"), department)
    typer.echo(f"defined: {', '.join(defined)}" if defined else "the default pipelines exist")
