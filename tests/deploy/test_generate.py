"""`crm deploy generate`: every file under deploy/ that names the services is written from
their definitions, so a service added (or removed) edits nothing there by hand."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from crm_shared.deploy import BASE, generated_files, stale, write
from crm_shared.deploy.blocks import BEGIN, MissingBlock
from crm_shared.deploy.image import workspace_members
from crm_shared.deploy.kafka_topics import installed_topics
from crm_shared.deploy.kubernetes import service_manifest
from crm_shared.service import ServiceDefinition, installed_services
from tests.deploy.test_manifests import (
    Manifest,
    compose,
    compose_specification_errors,
    named,
    of_kind,
    render,
    schema_errors,
)

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = list(installed_services().values())
# A service as the next team would declare it: it writes events, reads contacts' events,
# and runs two pods.
TASKS = ServiceDefinition(
    name="tasks",
    title="Sales",
    port=8110,
    app_factory="crm_tasks.main:create_app",
    description="Tasks and reminders.",
    event_store_schema="tasks",
    consumes=("contacts",),
    replicas=2,
)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A copy of what the generator reads and writes: deploy/ and the workspace manifests."""
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy", ignore=shutil.ignore_patterns(".env"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for member in workspace_members(ROOT):
        (tmp_path / member).mkdir(parents=True)
        shutil.copy(ROOT / member / "pyproject.toml", tmp_path / member / "pyproject.toml")
    return tmp_path


def manifests(text: str) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(text) if document]


@pytest.mark.parametrize("relative", sorted(map(str, generated_files(ROOT))))
def test_a_generated_file_edited_by_hand_is_stale_until_generated_again(
    repository: Path, relative: str
) -> None:
    path = repository / relative
    lines = path.read_text().splitlines(keepends=True)
    # A line of what the generator writes: the first of a block, or the file's last.
    marker = next((i for i, line in enumerate(lines) if BEGIN in line), None)
    del lines[-1 if marker is None else marker + 1]
    path.write_text("".join(lines))

    assert stale(repository) == [Path(relative)]
    assert write(repository) == [path]
    assert stale(repository) == []


def test_crm_deploy_generate_check_fails_on_a_stale_file_and_writes_nothing(
    repository: Path,
) -> None:
    from crm_shared.cli import app

    runner = CliRunner()
    check = ["deploy", "generate", "--check", "--root", str(repository)]
    assert runner.invoke(app, check).exit_code == 0
    compose_file = repository / "deploy" / "compose.yaml"
    edited = compose_file.read_text().replace('"8105:8105"', '"8106:8106"')
    compose_file.write_text(edited)

    result = runner.invoke(app, check)
    assert result.exit_code == 1
    assert "deploy/compose.yaml" in result.output
    assert compose_file.read_text() == edited


def test_a_file_that_lost_its_generated_block_is_refused_by_name(repository: Path) -> None:
    dockerfile = repository / "deploy" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("# <<< crm deploy generate: ports", ""))
    with pytest.raises(MissingBlock, match=r"deploy/Dockerfile: no block .*ports"):
        stale(repository)


def test_the_manifest_of_a_service_with_one_replica_has_no_disruption_budget() -> None:
    kinds = [m["kind"] for m in manifests(service_manifest(replace(TASKS, replicas=1)))]
    assert kinds == ["Deployment", "Service"]


def test_the_manifest_of_a_service_with_replicas_has_a_budget_for_its_pods() -> None:
    deployment, _, budget = manifests(service_manifest(TASKS))
    assert deployment["spec"]["replicas"] == 2
    assert budget["kind"] == "PodDisruptionBudget"
    assert budget["spec"]["maxUnavailable"] == 1  # never blocks a drain of one pod
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert not schema_errors(manifests(service_manifest(TASKS)))


@pytest.fixture
def with_tasks(repository: Path) -> Path:
    """The copy after `crm deploy generate` with one service more, and nothing else."""
    write(repository, [*INSTALLED, TASKS])
    return repository


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_an_added_service_is_deployed_by_every_overlay_with_no_hand_edit(
    with_tasks: Path, overlay: str
) -> None:
    rendered = render(overlay, with_tasks / "deploy")
    errors = schema_errors(rendered)
    assert not errors, "\n".join(errors)
    deployment = named(rendered, "Deployment", "crm-tasks")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["crm", "serve", "tasks"]
    assert container["ports"] == [{"name": "http", "containerPort": 8110, "protocol": "TCP"}]
    master_key = [e for e in container["env"] if e["name"] == "CRM_MASTER_KEY"]
    assert master_key, "it writes events: it needs the master key"
    assert named(rendered, "Service", "crm-tasks")["spec"]["ports"][0]["port"] == 8110
    assert named(rendered, "PodDisruptionBudget", "crm-tasks")
    # Dev runs one of everything, whatever the definition asks for.
    assert deployment["spec"]["replicas"] == (1 if overlay == "dev" else 2)
    config = of_kind(rendered, "ConfigMap")[0]["data"]
    assert config["CRM_TASKS_PORT"] == "8110"
    assert yaml.safe_load(config["CRM_SERVICE_URLS"])["tasks"] == "http://crm-tasks:8110"
    topics = {t["spec"]["topicName"] for t in of_kind(rendered, "KafkaTopic")}
    assert {"crm.tasks.events", "crm.tasks.events.dlq"} <= topics


def test_the_topic_of_a_service_consumed_before_it_exists_is_declared_too() -> None:
    # A consumer subscribes before its publisher is written or deployed (sales reads
    # marketing's events already): the topic must exist all the same.
    billing_reader = replace(TASKS, consumes=("contacts", "billing"))
    topics = installed_topics([*INSTALLED, billing_reader])
    assert {"crm.billing.events", "crm.billing.events.dlq"} <= set(topics)
    assert len(topics) == len(set(topics))


def test_an_added_service_runs_in_compose_with_no_hand_edit(with_tasks: Path) -> None:
    errors = compose_specification_errors(with_tasks / "deploy")
    assert not errors, errors
    services = compose(with_tasks / "deploy")["services"]
    tasks = services["tasks"]
    assert tasks["command"] == ["crm", "serve", "tasks"]
    assert tasks["ports"] == ["8110:8110"]
    assert tasks["environment"]["CRM_TASKS_PORT"] == "8110"
    assert "CRM_MASTER_KEY" in tasks["environment"]
    assert yaml.safe_load(tasks["environment"]["CRM_SERVICE_URLS"]) == {
        "contacts": "http://contacts:8101"
    }
    assert tasks["depends_on"] == services["contacts"]["depends_on"]  # the shared anchor
    loop = services["kafka-topics"]["command"][0].split("for service in ")[1].split(";")[0]
    assert {"contacts", "projections", "sales", "tasks"} <= set(loop.split())


def test_an_added_service_is_exposed_and_health_checked_by_the_image(with_tasks: Path) -> None:
    dockerfile = (with_tasks / "deploy" / "Dockerfile").read_text()
    ports = " ".join(str(d.port) for d in [*INSTALLED, TASKS])
    assert f"\nEXPOSE {ports}\n" in dockerfile
    assert '"tasks": 8110,' in (with_tasks / "deploy" / "healthcheck.py").read_text()


def test_a_service_no_longer_installed_leaves_nothing_behind(repository: Path) -> None:
    remaining = [d for d in INSTALLED if d.name != "projections"]
    write(repository, remaining)

    assert not (repository / BASE / "projections.yaml").exists()
    assert stale(repository, remaining) == []
    rendered = render("dev", repository / "deploy")
    assert [d["metadata"]["name"] for d in of_kind(rendered, "Deployment")] == [
        f"crm-{d.name}" for d in remaining
    ]
    assert "projections" not in compose(repository / "deploy")["services"]
