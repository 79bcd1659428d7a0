"""The lines of the image's files that name the services or the workspace members: the
Dockerfile's manifests and ports, and the health check's default ports."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from crm_shared.service import ServiceDefinition


def workspace_members(root: Path) -> list[str]:
    """The uv workspace members of the repository at ``root``: `uv sync --frozen` needs
    every member's pyproject.toml, whether or not it is a service."""
    project = tomllib.loads((root / "pyproject.toml").read_text())
    members: list[str] = []
    for pattern in project["tool"]["uv"]["workspace"]["members"]:
        found = sorted(p.parent for p in root.glob(f"{pattern}/pyproject.toml"))
        members += [p.relative_to(root).as_posix() for p in found]
    return members


def dockerfile_blocks(root: Path, services: Iterable[ServiceDefinition]) -> dict[str, str]:
    manifests = "".join(
        f"COPY {member}/pyproject.toml {member}/pyproject.toml\n"
        for member in workspace_members(root)
    )
    ports = " ".join(str(d.port) for d in services)
    return {"workspace manifests": manifests, "ports": f"EXPOSE {ports}\n"}


def healthcheck_blocks(services: Iterable[ServiceDefinition]) -> dict[str, str]:
    ports = "".join(f'    "{d.name}": {d.port},\n' for d in services)
    return {"ports": f"PORTS = {{\n{ports}}}\n"}
