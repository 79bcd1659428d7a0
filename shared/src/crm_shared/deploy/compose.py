"""The lines of deploy/compose.yaml that name the services: the job creating their topics
and one compose service each (Kafka, PostgreSQL and the shared settings are by hand)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from crm_shared.deploy.kubernetes import is_event_writer
from crm_shared.service import ServiceDefinition, topic_owners

TOPICS_JOB = """\
# One-shot: creates each service's event topic and its .dlq companion.
# Event topics keep everything (retention.ms=-1): projections rebuild by replaying them.
kafka-topics:
  image: apache/kafka:4.1.0
  restart: "no"
  depends_on:
    kafka:
      condition: service_healthy
  entrypoint:
    - /bin/bash
    - -ec
  command:
    - |
      topics=/opt/kafka/bin/kafka-topics.sh
      for service in {publishers}; do
        $$topics --bootstrap-server kafka:9092 --create --if-not-exists \\
          --topic "crm.$${{service}}.events" --partitions 4 --replication-factor 1 \\
          --config retention.ms=-1 --config cleanup.policy=delete
        $$topics --bootstrap-server kafka:9092 --create --if-not-exists \\
          --topic "crm.$${{service}}.events.dlq" --partitions 1 --replication-factor 1 \\
          --config retention.ms=1209600000 --config cleanup.policy=delete
      done
      $$topics --bootstrap-server kafka:9092 --list
"""

SERVICE = """\

{name}:
  <<: *crm-service
  command: ["crm", "serve", "{name}"]
  environment:
    <<: *crm-environment
    CRM_{upper}_PORT: "{port}"
{environment}\
  ports:
    - "{port}:{port}"
  healthcheck:
    test: ["CMD", "python", "/app/healthcheck.py", "/readyz"]
    interval: 10s
    timeout: 5s
    retries: 6
    start_period: 30s
"""

MASTER_KEY = """\
    # Only the services writing events get the master key.
    CRM_MASTER_KEY: ${CRM_MASTER_KEY:?set CRM_MASTER_KEY (in deploy/.env) to the output of openssl rand -base64 32}
"""

SERVICE_URLS = """\
    # The key endpoints (POST /v1/data-keys/lookup) of the services whose events it
    # consumes, for opening sealed fields; the default, http://<CRM_HOST>:<port>, would be
    # 0.0.0.0 here. It signs itself a short-lived pii:read token with CRM_JWT_SECRET (HS256).
    CRM_SERVICE_URLS: '{urls}'
"""


def _environment(definition: ServiceDefinition, services: dict[str, ServiceDefinition]) -> str:
    environment = MASTER_KEY if is_event_writer(definition) else ""
    owners = {
        name: f"http://{name}:{services[name].port}"
        for name in definition.consumes
        if name in services and is_event_writer(services[name])
    }
    if owners:
        environment += SERVICE_URLS.format(urls=json.dumps(owners))
    return environment


def compose_blocks(services: Iterable[ServiceDefinition]) -> dict[str, str]:
    by_name = {d.name: d for d in services}
    publishers = " ".join(topic_owners(by_name.values()))
    text = TOPICS_JOB.format(publishers=publishers)
    for definition in by_name.values():
        text += SERVICE.format(
            name=definition.name,
            upper=definition.name.upper(),
            port=definition.port,
            environment=_environment(definition, by_name),
        )
    return {"services": text}
