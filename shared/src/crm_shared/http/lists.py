"""What every list route shares: its error responses, and the check of a text query
parameter (one PostgreSQL text can hold)."""

from __future__ import annotations

from pydantic import AfterValidator

LIST_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or invalid token"},
    422: {
        "description": "Invalid query parameters, or a cursor this API did not return (each"
        " error names its parameter)"
    },
}


def _no_nul(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL: refused here, against the parameter that holds it.
    if value is not None and "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


# Annotated[str | None, Query(...), QueryText]
QueryText = AfterValidator(_no_nul)
