"""Secure defaults: the published development secrets work only in `crm up`'s embedded
stack; anywhere else a service refuses to start with them, or with a deploy/ placeholder."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import ValidationError

from crm_contacts.main import create_app as create_contacts_app
from crm_projections.main import create_app as create_projections_app
from crm_shared.master_key import MasterKey
from crm_shared.settings import (
    DEVELOPMENT_JWT_SECRET,
    DEVELOPMENT_MASTER_KEY,
    PUBLISHED_SECRETS,
    InsecureSettings,
    Settings,
)

OWN_SECRET = base64.b64encode(os.urandom(32)).decode()
OWN_MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
PLACEHOLDER = "CHANGE-ME-openssl-rand-base64-32"


def test_outside_the_embedded_stack_the_development_jwt_secret_is_refused() -> None:
    with pytest.raises(InsecureSettings, match=r"CRM_JWT_SECRET.*openssl rand -base64 32"):
        Settings().refuse_published_jwt_secret()


def test_the_embedded_stack_accepts_the_development_jwt_secret() -> None:
    Settings(embedded=True).refuse_published_jwt_secret()


@pytest.mark.parametrize("embedded", [False, True])
@pytest.mark.parametrize("secret", sorted(PUBLISHED_SECRETS - {DEVELOPMENT_JWT_SECRET}))
def test_every_other_published_value_is_refused_as_jwt_secret_even_embedded(
    secret: str, embedded: bool
) -> None:
    with pytest.raises(InsecureSettings):
        Settings(jwt_secret=secret, embedded=embedded).refuse_published_jwt_secret()


def test_a_placeholder_marker_anywhere_in_the_jwt_secret_is_refused() -> None:
    with pytest.raises(InsecureSettings):
        Settings(jwt_secret=f"prod-{PLACEHOLDER}-xyz").refuse_published_jwt_secret()


def test_a_secret_of_ones_own_is_accepted() -> None:
    Settings(jwt_secret=OWN_SECRET).refuse_published_jwt_secret()


def test_rs256_does_not_use_the_shared_secret_so_does_not_check_it() -> None:
    Settings(jwt_algorithm="RS256", jwt_secret=PLACEHOLDER).refuse_published_jwt_secret()


def test_an_hs256_secret_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(jwt_secret="s" * 31)
    assert Settings(jwt_secret="s" * 32).jwt_secret


def test_outside_the_embedded_stack_the_development_master_key_is_refused() -> None:
    with pytest.raises(InsecureSettings, match=r"CRM_MASTER_KEY.*openssl rand -base64 32"):
        Settings().key_wrapper()


def test_the_embedded_stack_accepts_the_development_master_key() -> None:
    assert isinstance(Settings(embedded=True).key_wrapper(), MasterKey)


@pytest.mark.parametrize("embedded", [False, True])
@pytest.mark.parametrize(
    "key", sorted((PUBLISHED_SECRETS - {DEVELOPMENT_MASTER_KEY}) | {PLACEHOLDER})
)
def test_every_other_published_value_is_refused_as_master_key_even_embedded(
    key: str, embedded: bool
) -> None:
    with pytest.raises(InsecureSettings):
        Settings(master_key=key, embedded=embedded).key_wrapper()


def test_a_master_key_of_ones_own_is_accepted() -> None:
    assert isinstance(Settings(master_key=OWN_MASTER_KEY).key_wrapper(), MasterKey)


def test_the_default_token_lifetime_cannot_exceed_the_maximum() -> None:
    with pytest.raises(ValidationError, match="CRM_MAX_TOKEN_LIFETIME_SECONDS"):
        Settings(token_ttl_seconds=7200, max_token_lifetime_seconds=3600)


# The services themselves, as `crm serve` builds them (no database is reached: the
# refusal comes first).
OUTSIDE = {"database_url": "postgresql://nowhere/crm", "kafka_bootstrap_servers": "nowhere:9092"}


async def test_projections_refuses_to_start_with_the_development_jwt_secret() -> None:
    # Async, as uvicorn builds the app: its consumers need a running loop.
    with pytest.raises(InsecureSettings, match="CRM_JWT_SECRET"):
        create_projections_app(Settings(**OUTSIDE))


def test_contacts_refuses_to_start_with_the_development_jwt_secret() -> None:
    with pytest.raises(InsecureSettings, match="CRM_JWT_SECRET"):
        create_contacts_app(Settings(**OUTSIDE))


async def test_contacts_refuses_to_start_with_the_development_master_key() -> None:
    app = create_contacts_app(Settings(**OUTSIDE, jwt_secret=OWN_SECRET))
    with pytest.raises(InsecureSettings, match="CRM_MASTER_KEY"):
        async with app.router.lifespan_context(app):
            pass
