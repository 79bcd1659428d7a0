"""Deploy files derived from the installed services (`crm deploy generate`).

What a running service can find out for itself (its port, its topics, its roles) comes
from its ``ServiceDefinition`` at run time; what a cluster or a compose project must be
told before anything runs is written from the same definitions into `deploy/`: each
service's Kubernetes manifest and the Kafka topics whole, and the lines naming the
services inside the hand-written compose file, Dockerfile, health check and base
kustomization (``blocks``). `crm deploy generate --check` and a test fail when a
committed file is not what the generator writes, so adding a service edits nothing under
`deploy/` by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from crm_shared.deploy.blocks import fill
from crm_shared.deploy.compose import compose_blocks
from crm_shared.deploy.image import dockerfile_blocks, healthcheck_blocks
from crm_shared.deploy.kafka_topics import installed_topics, topics_manifest
from crm_shared.deploy.kubernetes import (
    GENERATED,
    kustomization_blocks,
    manifest_name,
    service_manifest,
)
from crm_shared.service import ServiceDefinition

BASE = Path("deploy/k8s/base")
TOPICS_FILE = BASE / "kafka-topics.yaml"

Blocks = Callable[[Path, list[ServiceDefinition]], dict[str, str]]
# The hand-written files with generated blocks, and what fills them.
FILLED: dict[Path, Blocks] = {
    BASE / "kustomization.yaml": lambda _, services: kustomization_blocks(services),
    Path("deploy/compose.yaml"): lambda _, services: compose_blocks(services),
    Path("deploy/Dockerfile"): dockerfile_blocks,
    Path("deploy/healthcheck.py"): lambda _, services: healthcheck_blocks(services),
}


def generated_files(
    root: Path, services: Iterable[ServiceDefinition] | None = None
) -> dict[Path, str]:
    """Each generated deploy file (relative to the repository at ``root``) and what it
    must hold, for the installed services or the ones given."""
    if services is None:
        from crm_shared.service import installed_services

        services = installed_services().values()
    services = list(services)
    files = {TOPICS_FILE: topics_manifest(installed_topics(services))}
    files |= {BASE / manifest_name(d): service_manifest(d) for d in services}
    for relative, blocks in FILLED.items():
        files[relative] = fill((root / relative).read_text(), blocks(root, services), str(relative))
    return files


def _orphans(root: Path, files: dict[Path, str]) -> list[Path]:
    """Manifests generated for a service that is no longer installed."""
    return [
        path.relative_to(root)
        for path in sorted((root / BASE).glob("*.yaml"))
        if path.relative_to(root) not in files and path.read_text().startswith(GENERATED)
    ]


def stale(root: Path, services: Iterable[ServiceDefinition] | None = None) -> list[Path]:
    """The files `write` would change (relative to ``root``): none when deploy/ is current."""
    files = generated_files(root, services)
    changed = [
        relative
        for relative, text in files.items()
        if not (root / relative).exists() or (root / relative).read_text() != text
    ]
    return changed + _orphans(root, files)


def write(root: Path, services: Iterable[ServiceDefinition] | None = None) -> list[Path]:
    """Writes what is stale, removes orphaned manifests; returns the paths it touched."""
    files = generated_files(root, services)
    touched = []
    for relative, text in files.items():
        path = root / relative
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            touched.append(path)
    for relative in _orphans(root, files):
        (root / relative).unlink()
        touched.append(root / relative)
    return touched
