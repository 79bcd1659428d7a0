"""The request bodies every service under test receives, as templates: wrk makes each
``__N__`` unique per request (bench/post.lua), so every request registers someone new."""

from __future__ import annotations

import orjson

UNIQUE = "__N__"


def registration() -> bytes:
    """A registration with personal fields (names, email, phone): sealed by the CRM."""
    return orjson.dumps(
        {
            "first_name": f"Bench{UNIQUE}",
            "last_name": "Loadtest",
            "emails": [{"address": f"bench{UNIQUE}@example.com"}],
            "phones": [{"number": "+14155550123"}],
            "tags": ["bench"],
            "job_title": "Buyer",
        }
    )


def impersonal_registration() -> bytes:
    """About the size and shape of ``registration``, its strings in fields that are not
    personal (custom fields marked so): none of its values needs sealing. (The event still
    carries empty emails, phones and addresses, which the mapper seals as of now.)"""
    return orjson.dumps(
        {
            "job_title": f"Buyer Bench{UNIQUE}",
            "source": "Loadtest",
            "custom_fields": {
                "reference": {
                    "type": "string",
                    "value": f"bench{UNIQUE}@example.com",
                    "personal": False,
                },
                "line": {"type": "string", "value": "+14155550123", "personal": False},
            },
            "tags": ["bench"],
        }
    )


def tagged(template: bytes, tag: str) -> bytes:
    body = orjson.loads(template)
    body["tags"] = [tag]
    return orjson.dumps(body)


def filled(template: bytes, n: int) -> bytes:
    """The body wrk would send as request ``n`` (for in-process measurements)."""
    return template.replace(UNIQUE.encode(), str(n).encode())


# What the cost of sealing compares: the usual registration, and one with nothing personal.
BODIES = {"personal": registration(), "not_personal": impersonal_registration()}
