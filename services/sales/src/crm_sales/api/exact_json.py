"""Request bodies read with their numbers exact.

FastAPI reads a JSON body with the standard library, which turns ``1.0842`` into a float
before any model sees it: rates and amounts would be rounded to binary first. These routes
read the body themselves, every JSON number straight from its text into a ``Decimal``, and
validate it with the same model (its schema documents the route, as a body parameter's
would)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from crm_shared.http.problems import Problem

M = TypeVar("M", bound=BaseModel)


async def exact_body(request: Request, model: type[M]) -> M:
    try:
        data = json.loads(await request.body(), parse_float=Decimal)
    except ValueError:
        raise Problem(400, "invalid_json", "The body is not JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` that documents ``model`` as the route's JSON body."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }
