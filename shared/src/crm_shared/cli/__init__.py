"""The `crm` command: run the stack, issue tokens, operate projections."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from typing import Annotated

import typer

from crm_shared.auth.api_keys import ApiKeyAdmin, ApiKeyError
from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import TokenLifetimeTooLong, issue_token
from crm_shared.cli.dlq import cli as dead_letters_cli
from crm_shared.service import installed_services
from crm_shared.settings import InsecureSettings, get_settings

app = typer.Typer(no_args_is_help=True, help="Operate the CRM.", add_completion=False)


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="The caller's role")],
    department: Annotated[list[str], typer.Option(help="Department (repeat for several)")] = [],  # noqa: B006
    sub: Annotated[str, typer.Option(help="The user id")] = "dev-user",
    ttl: Annotated[int | None, typer.Option(help="Lifetime in seconds")] = None,
    permission: Annotated[list[str], typer.Option(help="Extra permission, e.g. pii:read")] = [],  # noqa: B006
) -> None:
    """Print a bearer token the running stack accepts."""
    try:
        token = issue_token(
            get_settings(),
            subject=sub,
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

    settings = get_settings()
    definition = installed_services()[service]
    try:  # the service would refuse anyway, deeper in a traceback: say it plainly
        settings.refuse_published_jwt_secret()
        if definition.relay is not None:  # it writes events: it seals with the master key
            settings.key_wrapper()
    except InsecureSettings as error:
        raise SystemExit(f"crm serve {service}: {error}") from None
    uvicorn.run(
        definition.app_factory,
        factory=True,
        host=settings.host,
        port=definition.port(settings),
        workers=definition.workers(settings),
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )


@app.command()
def relay(service: Annotated[str, typer.Argument(help="Whose event store to relay")]) -> None:
    """Run a service's outbox relay on its own (with CRM_RELAY_IN_PROCESS=false)."""
    definition = installed_services()[service]
    if definition.relay is None:
        raise typer.BadParameter(f"{service} has no event store to relay")
    make_relay = definition.relay

    async def run() -> None:
        relay = await asyncio.to_thread(make_relay, get_settings())
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
    """Run the whole CRM: embedded PostgreSQL and Kafka unless configured, then every service."""
    from crm_shared.infra.embedded_kafka import EmbeddedKafka
    from crm_shared.infra.embedded_postgres import EmbeddedPostgres
    from crm_shared.messaging.topics import ensure_topics

    settings = get_settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    postgres: EmbeddedPostgres | None = None
    kafka: EmbeddedKafka | None = None
    children: list[subprocess.Popen[bytes]] = []

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # Explicitly: a process started in the background inherits SIGINT ignored, and a
    # container stops it with SIGTERM; either way everything it started must stop too.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)

    def shutdown(*_: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        typer.echo("\nstopping…")
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if kafka is not None:
            kafka.stop()
        if postgres is not None:
            postgres.stop()
        typer.echo("stopped")

    try:
        database_url = settings.database_url
        if database_url is None:
            postgres = EmbeddedPostgres(data_dir / "postgres", settings.embedded_postgres_port)
            postgres.start()
            postgres.create_database("crm")
            database_url = postgres.database_url("crm")
            typer.echo(f"PostgreSQL (embedded)  {database_url}   data in {postgres.data_dir}")
        bootstrap = settings.kafka_bootstrap_servers
        if bootstrap is None:
            kafka = EmbeddedKafka(settings.embedded_kafka_port, log_file=data_dir / "kafka.log")
            kafka.start()
            bootstrap = kafka.bootstrap_servers
            typer.echo(
                f"Kafka (embedded Tansu) {bootstrap}   in memory: relays re-publish on start"
            )
        asyncio.run(ensure_topics(bootstrap, settings.topic_partitions))

        env = {
            **os.environ,
            "CRM_DATABASE_URL": database_url,
            "CRM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            # Development secrets are accepted only on the embedded stack `crm up` runs.
            "CRM_EMBEDDED": "true" if postgres is not None and kafka is not None else "false",
        }
        services = installed_services()
        for name in services:
            children.append(
                subprocess.Popen([sys.executable, "-m", "crm_shared.cli", "serve", name], env=env)
            )
        _wait_until_ready(settings.host, [d.port(settings) for d in services.values()], children)
        typer.echo("\nThe CRM is running:")
        for definition in services.values():
            url = settings.service_url(definition.port(settings))
            typer.echo(f"  {definition.title:<12} {url}   API docs: {url}/docs")
        typer.echo(
            "\nGet a token:  .venv/bin/crm token --role admin --department sales\n"
            'Then:         curl -H "Authorization: Bearer $TOKEN" '
            f"{settings.service_url(settings.contacts_port)}/v1/contacts/...\n"
            "Ctrl-C stops everything."
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        typer.echo("a service exited; stopping the rest", err=True)
        raise SystemExit(1)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown()


apikey = typer.Typer(no_args_is_help=True, help="API keys for other systems.")
app.add_typer(apikey, name="apikey")


def _key_admin() -> ApiKeyAdmin:
    url = get_settings().api_keys_database_url
    if url is None:
        raise typer.BadParameter("set CRM_DATABASE_URL (the URL `crm up` printed)")
    return ApiKeyAdmin(url)


@apikey.command("create")
def create_api_key(
    name: Annotated[str, typer.Option(help="Which system the key is for")],
    role: Annotated[Role, typer.Option(help="The role the key acts with")],
    department: Annotated[list[str], typer.Option(help="Department (repeat for several)")] = [],  # noqa: B006
    permission: Annotated[list[str], typer.Option(help="Extra permission, e.g. pii:read")] = [],  # noqa: B006
) -> None:
    """Create a key and print it once: only its hash is stored."""
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
    try:
        key = _key_admin().revoke(name)
    except ApiKeyError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"revoked {key.name!r}")


app.add_typer(dead_letters_cli, name="dlq")

docs = typer.Typer(no_args_is_help=True, help="The published contract documents.")
app.add_typer(docs, name="docs")


@docs.command("generate")
def generate_docs(
    folder: Annotated[str, typer.Option(help="Where to write")] = "docs/events",
) -> None:
    """Write the JSON Schema of every event type and the AsyncAPI document."""
    from pathlib import Path

    from crm_shared.events.documents import write_documents

    for path in write_documents(Path(folder)):
        typer.echo(path)


def _wait_until_ready(
    host: str, ports: list[int], children: list[subprocess.Popen[bytes]], timeout: float = 90
) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            if any(child.poll() is not None for child in children):
                raise SystemExit("a service failed to start; see its log above")
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the service on port {port} did not become ready")
            time.sleep(0.2)


def main() -> None:
    # embedded-postgres' helper warns about XDG_RUNTIME_DIR on import; it is not used.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    for definition in installed_services().values():
        if definition.cli is not None:
            app.add_typer(definition.cli, name=definition.name)
    app()


if __name__ == "__main__":
    main()
