"""The `crm` command line."""

from __future__ import annotations

import jwt
from typer.testing import CliRunner

from crm_shared.cli import app
from crm_shared.settings import get_settings


def test_crm_token_prints_a_token_the_services_accept() -> None:
    result = CliRunner().invoke(
        app, ["token", "--role", "manager", "--department", "sales", "--sub", "mia"]
    )
    assert result.exit_code == 0, result.output
    settings = get_settings()
    claims = jwt.decode(
        result.output.strip(),
        settings.jwt_secret,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
    )
    assert (claims["sub"], claims["role"], claims["department"]) == ("mia", "manager", "sales")
    assert claims["exp"] > claims["iat"]


def test_crm_token_refuses_an_unknown_role() -> None:
    result = CliRunner().invoke(app, ["token", "--role", "overlord"])
    assert result.exit_code != 0


def test_crm_token_refuses_a_lifetime_the_services_would_refuse() -> None:
    too_long = get_settings().max_token_lifetime_seconds + 1
    result = CliRunner().invoke(app, ["token", "--role", "admin", "--ttl", str(too_long)])
    assert result.exit_code != 0
    assert "CRM_MAX_TOKEN_LIFETIME_SECONDS" in result.output
