"""The answers every contacts route documents."""

from __future__ import annotations

from typing import Any

RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Malformed request: an If-Match that is not an ETag, a body that is not JSON"
    },
    401: {"description": "Missing or invalid token"},
    403: {"description": "The caller's role may not do this"},
    404: {"description": "No such record"},
    409: {"description": "The record is archived, or changed concurrently"},
    410: {"description": "The person was erased: the contact can no longer be changed"},
    412: {"description": "If-Match is not the current version"},
    413: {"description": "The body is too large"},
    422: {
        "description": "The body is not valid, or it links a record that does not exist or is "
        "out of the caller's sight (`unknown_reference`) or is archived (`archived_reference`)"
    },
}
