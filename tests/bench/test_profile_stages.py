"""py-spy's stacks put into stages of a command."""

from __future__ import annotations

from bench.profile import READ_SIDE, WRITE_SIDE, parse_raw, stage_of, summarise

ROOT = (
    "<module> (crm:10);serve (crm_shared/cli/__init__.py:75);run (uvicorn/main.py:632);"
    "Server.run (uvicorn/server.py:86);Runner.run (asyncio/runners.py:118)"
)


def stack(*frames: str) -> list[str]:
    return [*ROOT.split(";"), *frames]


def test_the_event_loop_alone_is_the_event_loop_not_http() -> None:
    # uvicorn sits at the root of every stack: it must not claim them.
    assert stage_of(stack(), WRITE_SIDE) == "event loop"
    assert stage_of(stack(), READ_SIDE) == "event loop"


def test_sealing_beneath_the_append_is_sealing() -> None:
    frames = stack(
        "register (crm_contacts/api/contacts.py:40)",
        "append (crm_shared/eventstore/group_commit.py:80)",
        "to_stored_event (crm_shared/eventstore/mapper.py:60)",
        "seal (crm_shared/privacy/cipher.py:90)",
    )

    assert stage_of(frames, WRITE_SIDE) == "sealing"


def test_the_database_client_under_the_relay_is_the_relay() -> None:
    frames = stack(
        "Relay._run (crm_shared/messaging/relay.py:200)",
        "execute (psycopg/cursor_async.py:97)",
    )

    assert stage_of(frames, WRITE_SIDE) == "relay"


def test_the_database_client_under_the_group_commit_is_the_append() -> None:
    frames = stack(
        "GroupCommit._flush (crm_shared/eventstore/group_commit.py:120)",
        "execute (psycopg/cursor_async.py:97)",
    )

    assert stage_of(frames, WRITE_SIDE) == "append / group commit"


def test_validation_by_the_framework_is_http_and_validation() -> None:
    frames = stack(
        "HTTPToolsProtocol.on_body (uvicorn/protocols/http/httptools_impl.py:300)",
        "validate (pydantic/main.py:700)",
    )

    assert stage_of(frames, WRITE_SIDE) == "HTTP and validation"


def test_the_domain_validating_its_own_events_is_the_domain() -> None:
    frames = stack(
        "register (crm_contacts/api/contacts.py:40)",
        "Contact.register (crm_contacts/domain/contact.py:50)",
        "validate (pydantic/main.py:700)",
    )

    assert stage_of(frames, WRITE_SIDE) == "domain"


def test_read_side_stages_decode_fold_and_write() -> None:
    consumer = "ProjectionConsumer._run (crm_shared/messaging/consumer.py:300)"
    decode = stack(consumer, "decode (crm_shared/messaging/decoding.py:50)")
    fold = stack(consumer, "apply (crm_projections/customer360/projection.py:150)")
    write = stack(
        consumer,
        "apply (crm_projections/customer360/projection.py:150)",
        "execute (psycopg/cursor_async.py:97)",
    )
    fetch = stack(consumer, "getmany (aiokafka/consumer/consumer.py:1200)")

    assert stage_of(decode, READ_SIDE) == "decode"
    assert stage_of(fold, READ_SIDE) == "fold"
    assert stage_of(write, READ_SIDE) == "write (PostgreSQL)"
    assert stage_of(fetch, READ_SIDE) == "consumer (fetch, log check, offsets)"


def test_raw_output_is_read_as_stacks_and_counts() -> None:
    raw = f"{ROOT};seal (crm_shared/privacy/cipher.py:90) 7\n{ROOT} 3\n\n"

    assert [count for _, count in parse_raw(raw)] == [7, 3]
    assert summarise(raw, WRITE_SIDE) == {"sealing": 7, "event loop": 3}


def test_the_shared_records_application_is_the_domain_and_its_routes_are_http() -> None:
    command = stack(
        "create (crm_shared/records/routes.py:120)",
        "RecordApplication.create (crm_shared/records/application.py:80)",
        "validate (pydantic/main.py:700)",
    )
    answer = stack(
        "create (crm_shared/records/routes.py:120)",
        "view (crm_shared/records/views.py:30)",
    )

    assert stage_of(command, WRITE_SIDE) == "domain"
    assert stage_of(answer, WRITE_SIDE) == "HTTP and validation"


def test_serving_the_360s_key_lookups_is_not_sealing_a_command() -> None:
    frames = stack(
        "lookup (crm_shared/http/data_keys.py:60)",
        "unwrap (crm_shared/privacy/keyring.py:90)",
    )

    assert stage_of(frames, WRITE_SIDE) == "data-key endpoint"


def test_values_the_key_client_opens_are_opening_not_the_key_lookup() -> None:
    opening = stack(
        "DataKeyClient.reveal (crm_shared/privacy/key_client.py:140)",
        "open_bytes (crm_shared/privacy/cipher.py:97)",
    )
    lookup = stack(
        "DataKeyClient.reveal (crm_shared/privacy/key_client.py:130)",
        "AsyncClient.post (httpx/_client.py:1859)",
    )

    assert stage_of(opening, READ_SIDE) == "open sealed fields"
    assert stage_of(lookup, READ_SIDE) == "data keys over HTTP"
