"""Group commit on its own: CPU per command at concurrency 1 and 32, no HTTP, no relay.

    python -m bench.commit_profile [--commands 2000] [--rounds 2] [--cprofile tottime]

Starts a private embedded PostgreSQL and the contacts service's application (as `crm
serve` builds it, its lifespan run in this process), then registers contacts straight
through ``RecordsApplication.handle``: the request model's validation, the domain,
sealing and the durable append, one at a time and 32 at once, round by round. What a
command costs at 1 that it does not at 32 is what a batch of one does not share. With
``--cprofile`` the one-at-a-time commands are profiled with a CPU clock (what awaits
the database is not counted) and the top functions printed, sorted as asked.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import uvloop

from bench import bodies
from bench.stack import free_port
from crm_contacts.api.schemas import RegisterContact
from crm_contacts.domain.contact import Contact
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.infra.embedded_postgres import EmbeddedPostgres
from crm_shared.records import commands
from crm_shared.service import installed_services, load
from crm_shared.settings import Settings


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def profile(database_url: str, args: argparse.Namespace) -> None:
    settings = Settings(
        embedded=True,
        database_url=database_url,
        kafka_bootstrap_servers="127.0.0.1:9",  # never used: no relay
        relay_in_process=False,
        log_json=False,
    )
    app = load(installed_services()["contacts"].app_factory)(settings)
    context = CommandContext.of(Principal(id="bench", role=Role.ADMIN, departments=("sales",)))
    body = bodies.registration()

    async with app.router.lifespan_context(app):
        records = app.state.use_cases

        async def register() -> None:
            unique = body.replace(b"@", f"{uuid.uuid4().hex[:8]}@".encode(), 1)
            payload = RegisterContact.model_validate_json(unique)
            values: dict[str, Any] = {n: getattr(payload, n) for n in type(payload).model_fields}
            values.pop("owner", None)
            values.pop("department", None)
            command = commands.CreateRecord(
                record_type=Contact, values=values, owner="bench", department=None
            )
            await records.handle(command, context)

        async def at_once(concurrency: int) -> None:
            gate = asyncio.Semaphore(concurrency)

            async def gated() -> None:
                async with gate:
                    await register()

            await asyncio.gather(*(gated() for _ in range(args.commands)))

        for _ in range(50):  # warm: prepared statements, caches
            await register()
        if args.cprofile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(args.commands):
                await register()
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.cprofile).print_stats(30)
            return
        for round_ in range(1, args.rounds + 1):
            for concurrency in (1, 32):
                cpu, wall = cpu_seconds(), time.perf_counter()
                await at_once(concurrency)
                cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
                print(
                    f"round {round_}, {concurrency:>2} at once: "
                    f"{cpu / args.commands * 1e6:,.0f} µs CPU per command, "
                    f"{wall / args.commands * 1e6:,.0f} µs wall",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cprofile", metavar="SORT", help="e.g. tottime or cumulative")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crm-commit-profile-"))
    work.chmod(0o755)
    postgres = EmbeddedPostgres(work / "pg", free_port())
    postgres.start()
    try:
        postgres.create_database("bench")
        uvloop.install()
        asyncio.run(profile(postgres.database_url("bench"), args))
    finally:
        postgres.stop()


if __name__ == "__main__":
    main()
