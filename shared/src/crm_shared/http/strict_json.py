"""Strict JSON bodies: an object may name each member once.

Python's parser (and orjson) keep the last of duplicate keys, so ``{"owner": "a", "owner":
"b"}`` would mean whatever the last parser in a chain of proxies decides; we refuse it.
The check parses with the C scanner and only a hook per object: a few microseconds for a
typical body, run once per request by the middleware before any route sees the body.
"""

from __future__ import annotations

import json
from typing import Any

JSON_SUBTYPE_SUFFIX = b"+json"


class DuplicateKey(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise DuplicateKey
    return members


def has_duplicate_keys(body: bytes) -> bool:
    """True if some object in the body names a member twice. A body that is not JSON at
    all is not this check's business: the route's own parsing reports it."""
    try:
        json.loads(body, object_pairs_hook=_unique)
    except DuplicateKey:
        return True
    except (ValueError, RecursionError):
        return False
    return False


def parsed_as_json(content_type: bytes | None) -> bool:
    """Whether FastAPI will read the body as JSON: no content type, or a JSON one."""
    if content_type is None:
        return True
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(JSON_SUBTYPE_SUFFIX)
    )
