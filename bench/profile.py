"""Where a process's CPU goes, by stage of a command: py-spy samples its Python stacks
during a run, and each stack is put in the first stage (in order) any of its frames
belongs to. The order does the work: the relay, auth and sealing claim whatever runs
beneath them; the append claims the database client unless the relay called it; the HTTP
framework and validation get what no stage of ours claimed; the consumer's loop, at the
root of every stack in the projections process, gets only what nothing else did.

Samples are taken without pausing the process (``--nonblocking``) and without idle
stacks, so a stage's share of samples is about its share of the process's CPU.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# (stage, fragments of a frame's "function (file:line)" that put a stack in it), in order.
Rules = tuple[tuple[str, tuple[str, ...]], ...]

EVENT_LOOP = ("event loop", ("asyncio/",))
THREAD_POOL = ("thread pool", ("concurrent/futures/",))

WRITE_SIDE: Rules = (
    ("relay", ("messaging/relay.py", "aiokafka/", "messaging/log_check.py")),
    ("auth", ("crm_shared/auth/", "jwt/")),
    # Serving the 360's key lookups: the write service's work, but not for a command.
    ("data-key endpoint", ("crm_shared/http/data_keys.py",)),
    ("sealing", ("crm_shared/privacy/",)),
    ("append / group commit", ("crm_shared/eventstore/", "eventsourcing/", "psycopg")),
    (
        "domain",
        (
            "crm_contacts/domain/",
            "crm_contacts/application.py",
            "crm_contacts/commands.py",
            "crm_shared/domain.py",
            "crm_shared/commands.py",
            "crm_shared/catalog/",
            "crm_shared/events/",
            "crm_shared/records/application.py",
            "crm_shared/records/commands.py",
            "crm_shared/records/events.py",
            "crm_shared/records/record.py",
            "crm_shared/records/references.py",
        ),
    ),
    (
        "HTTP and validation",
        (
            "crm_shared/records/routes.py",
            "crm_shared/records/schemas.py",
            "crm_shared/records/views.py",
            "crm_shared/values.py",
            "crm_contacts/api/",
            "crm_contacts/views.py",
            "crm_shared/http/",
            "crm_shared/observability/",
            "fastapi/",
            "starlette/",
            "uvicorn/",
            "httptools/",
            "pydantic",
            "email_validator/",
            "phonenumbers/",
            "anyio/",
        ),
    ),
    THREAD_POOL,
    EVENT_LOOP,
)

READ_SIDE: Rules = (
    ("write (PostgreSQL)", ("psycopg",)),
    # Before the key lookup: the key client opens the values it fetched keys for.
    ("open sealed fields", ("crm_shared/privacy/cipher.py",)),
    ("data keys over HTTP", ("privacy/key_client.py", "httpx/", "httpcore/")),
    (
        "decode",
        (
            "messaging/decoding.py",
            "messaging/cloudevents.py",
            "crm_shared/catalog/",
            "crm_shared/events/",
        ),
    ),
    ("fold", ("crm_projections/", "crm_shared/projections/")),
    ("consumer (fetch, log check, offsets)", ("aiokafka/", "crm_shared/messaging/")),
    ("HTTP (queries, health)", ("fastapi/", "starlette/", "uvicorn/", "httptools/")),
    THREAD_POOL,
    EVENT_LOOP,
)

OTHER = "other"
# Frames that run every task: the command line, uvicorn's start-up and the event loop sit
# at the root of every stack, so the stage is decided by what runs beneath the last one.
LOOP_FRAMES = (
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "uvloop/",
    "threading.py",
)


def task_frames(frames: list[str]) -> list[str]:
    """The frames beneath the event loop (or the thread's start): the task's own."""
    last = max(
        (i for i, frame in enumerate(frames) if any(loop in frame for loop in LOOP_FRAMES)),
        default=-1,
    )
    return frames[last + 1 :]


def stage_of(frames: list[str], rules: Rules) -> str:
    """The first stage in ``rules`` that any of the task's frames belongs to; a stack with
    no frame beneath the loop is the event loop itself (uvloop's C code: sockets, timers,
    the HTTP parser's callbacks into Python show as their own frames)."""
    own = task_frames(frames)
    if not own:
        return EVENT_LOOP[0]
    for stage, fragments in rules:
        if any(fragment in frame for frame in own for fragment in fragments):
            return stage
    return OTHER


def parse_raw(raw: str) -> list[tuple[list[str], int]]:
    """py-spy's ``--format raw`` (collapsed stacks): ``frame;frame;... count`` a line,
    root first; a frame is ``function (file:line)``."""
    stacks = []
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarise(raw: str, rules: Rules) -> dict[str, int]:
    """Samples per stage, largest first."""
    samples: Counter[str] = Counter()
    for frames, count in parse_raw(raw):
        samples[stage_of(frames, rules)] += count
    return dict(samples.most_common())


@dataclass
class Recording:
    """py-spy recording one process; ``finish`` waits for it and reads the samples."""

    label: str
    rules: Rules
    output: Path
    process: subprocess.Popen[bytes]

    def finish(self) -> dict[str, int]:
        _, errors = self.process.communicate()
        if not self.output.exists():
            raise RuntimeError(f"py-spy recorded nothing for {self.label}: {errors.decode()}")
        return summarise(self.output.read_text(), self.rules)


def record(label: str, pid: int, seconds: int, rules: Rules, out: Path) -> Recording:
    output = out / f"profile-{label.replace(' ', '-').replace(':', '')}.txt"
    output.unlink(missing_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    argv = [
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "100",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Recording(label, rules, output, process)
