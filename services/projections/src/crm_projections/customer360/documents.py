"""Pure functions folding contacts events into the 360 documents (no I/O).

The fold must store whatever a valid event carries, including events recorded before
the contacts service refused what PostgreSQL cannot hold (``crm_shared.values``): an
event the 360 cannot store is dead-lettered on every replay, and the contact is missing
for good. Hence ``utc`` for every instant and ``storable`` for every document.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crm_shared.catalog.contacts import ContactRegistered
from crm_shared.messaging.cloudevents import ReceivedEvent

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "emails",
    "phones",
    "addresses",
    "birthday",
    "job_title",
    "source",
    "custom_fields",
)
ACCOUNT_FIELDS = ("name", "domain", "industry", "size", "address", "parent_account_id")


def in_utc(value: datetime) -> datetime:
    """The instant in UTC, as PostgreSQL timestamptz and Python can both hold it.

    Also brings an offset PostgreSQL refuses (beyond +-15:59; Python allows up to +-23:59)
    into range, as events recorded before the contacts service refused those can hold one.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # events carry offsets; a bare time means UTC
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 (or 9999-12-31T23:00-01:00) is outside Python's years in
        # UTC; again only an older event can hold one. The calendar's first (or last)
        # instant is within hours of it.
        ahead = (value.utcoffset() or timedelta(0)) > timedelta(0)
        return (datetime.min if ahead else datetime.max).replace(tzinfo=UTC)


def instant(moment: Any) -> datetime | None:
    """An instant the event data carries (ISO 8601) in UTC; None if it holds none."""
    if not isinstance(moment, str):
        return None
    try:
        return in_utc(datetime.fromisoformat(moment))
    except ValueError:
        return None


def utc(moment: Any) -> str | None:
    value = instant(moment)
    return value.isoformat() if value is not None else None


def storable_text(text: str) -> str:
    """The text with every NUL (U+0000) replaced by U+FFFD, which is what the replacement
    character is for: PostgreSQL text and jsonb cannot hold NUL, and events recorded before
    the contacts service refused it can carry one."""
    return text.replace("\x00", "\ufffd")


def storable(value: Any) -> Any:
    """A JSON value with ``storable_text`` for every string in it, keys included."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _event_name(event: ReceivedEvent) -> str:
    # crm.contacts.contact.updated.v1 -> "updated"
    return event.type.split(".")[3]


def apply_contact_event(doc: dict[str, Any] | None, event: ReceivedEvent) -> dict[str, Any] | None:
    name, data, at = _event_name(event), event.data, _recorded_at(event)
    if name == "registered":
        doc = {
            "id": event.subject,
            "profile": {f: data.get(f) for f in PROFILE_FIELDS},
            "tags": data.get("tags", []),
            "owner": data.get("owner"),
            "department": data.get("department"),
            "account_id": data.get("account_id"),
            "archived": False,
            "consents": {},
            "interactions": {"count": 0, "last_at": None, "by_channel": {}},
            "created_at": at,
        }
    if doc is None:
        return None
    if name == "updated":
        for field, value in data.items():
            if field in PROFILE_FIELDS:
                doc["profile"][field] = value
            else:
                doc[field] = value
    elif _apply_record_event(doc, name, data):
        pass
    elif name == "interaction_logged":
        stats = doc["interactions"]
        stats["count"] += 1
        channel = data.get("channel", "unknown")
        stats["by_channel"][channel] = stats["by_channel"].get(channel, 0) + 1
        occurred = instant(data.get("occurred_at")) or in_utc(event.time)
        last = instant(stats["last_at"])
        if last is None or occurred > last:
            stats["last_at"] = occurred.isoformat()
    elif name == "erased":
        erase(doc, at)
    elif name in ("consent_granted", "consent_withdrawn"):
        doc["consents"][data["channel"]] = {
            "status": "granted" if name == "consent_granted" else "withdrawn",
            "source": data.get("source"),
            "at": utc(data.get("at")),
        }
    doc["version"] = event.sequence
    doc["updated_at"] = at
    return doc


PERSONAL_FIELDS = ContactRegistered.personal_fields()
EMPTY_LISTS = ("emails", "phones", "addresses")


def erase(doc: dict[str, Any], at: str) -> None:
    """The person's data key is gone: keep the record, drop everything personal (what the
    catalog marks personal, as the contacts service does)."""
    profile = doc["profile"]
    for field in PERSONAL_FIELDS:
        profile[field] = [] if field in EMPTY_LISTS else None
    custom = profile.get("custom_fields") or {}
    profile["custom_fields"] = {
        k: v for k, v in custom.items() if not (isinstance(v, dict) and v.get("personal"))
    }
    doc["erased"] = True
    doc["erased_at"] = at


def apply_account_event(doc: dict[str, Any] | None, event: ReceivedEvent) -> dict[str, Any] | None:
    name, data = _event_name(event), event.data
    if name == "created":
        doc = {"id": event.subject, "archived": False, **{f: data.get(f) for f in ACCOUNT_FIELDS}}
        doc["owner"], doc["department"] = data.get("owner"), data.get("department")
    if doc is None:
        return None
    if name == "updated":
        doc.update({k: v for k, v in data.items() if k in ACCOUNT_FIELDS})
    else:
        _apply_record_event(doc, name, data)
    doc["version"] = event.sequence
    return doc


def _apply_record_event(doc: dict[str, Any], name: str, data: dict[str, Any]) -> bool:
    """What contacts and accounts share: archiving, restoring, moving. True if applied."""
    if name == "archived":
        doc["archived"] = True
    elif name == "restored":
        doc["archived"] = False
    elif name == "reassigned":
        doc["owner"], doc["department"] = data.get("owner"), data.get("department")
    else:
        return False
    return True


def display_name(doc: dict[str, Any]) -> str:
    profile = doc["profile"]
    parts = [profile.get("first_name"), profile.get("last_name")]
    name = " ".join(p for p in parts if p)
    if name:
        return name
    emails = profile.get("emails") or []
    return str(emails[0]["address"]) if emails else ""


def search_text(doc: dict[str, Any]) -> str:
    profile = doc["profile"]
    words = [display_name(doc)]
    words += [e["address"] for e in profile.get("emails") or []]
    # Phones both as stored (+14155550123) and as digits, so "4155550123" finds them.
    for phone in profile.get("phones") or []:
        words += [phone["number"], phone["number"].lstrip("+")]
    return " ".join(words).lower()


SUMMARIES = {
    "registered": "Contact registered",
    "updated": "Profile updated",
    "archived": "Contact archived",
    "restored": "Contact restored",
    "reassigned": "Moved to another owner or department",
    "consent_granted": "Consent granted",
    "consent_withdrawn": "Consent withdrawn",
    "erased": "Personal data erased",
}


def _recorded_at(event: ReceivedEvent) -> str:
    return in_utc(event.time).isoformat()


def timeline_entry(event: ReceivedEvent) -> dict[str, Any]:
    name, data = _event_name(event), event.data
    recorded_at = _recorded_at(event)
    entry: dict[str, Any] = {
        "event_id": event.id,
        "type": event.type,
        "occurred_at": recorded_at,
        "recorded_at": recorded_at,
        "actor": event.actor,
        "version": event.sequence,
    }
    if name == "interaction_logged":
        entry["occurred_at"] = utc(data.get("occurred_at")) or recorded_at
        entry["summary"] = f"{data.get('direction', '')} {data.get('channel', '')}".strip()
        entry["interaction"] = {
            k: data.get(k)
            for k in ("interaction_id", "channel", "direction", "subject", "notes", "by")
        }
    else:
        entry["summary"] = SUMMARIES.get(name, name.replace("_", " "))
        if name == "updated":
            entry["changed_fields"] = sorted(data)
        elif name.startswith("consent_"):
            entry["consent"] = {**data, "at": utc(data.get("at"))}
    return entry
