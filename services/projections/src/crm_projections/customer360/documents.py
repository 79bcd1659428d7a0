"""Pure functions folding contacts events into the 360 documents (no I/O).

They match on the catalog's typed events (``crm_shared.events.ReceivedEvent``), as the
consumer decodes them: an old version of an event arrives as the current one.

The fold must store whatever a valid event carries, including events recorded before
the contacts service refused what PostgreSQL cannot hold (``crm_shared.values``): an
event the 360 cannot store is dead-lettered on every replay, and the contact is missing
for good. Hence ``utc`` for every instant and ``storable`` for every document.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crm_shared.catalog.contacts import (
    AccountArchived,
    AccountConsentGranted,
    AccountConsentWithdrawn,
    AccountCreated,
    AccountInteractionLogged,
    AccountReassigned,
    AccountRestored,
    AccountUpdated,
    ContactArchived,
    ContactConsentGranted,
    ContactConsentWithdrawn,
    ContactErased,
    ContactInteractionLogged,
    ContactReassigned,
    ContactRegistered,
    ContactRestored,
    ContactUpdated,
)
from crm_shared.events import EventData, ReceivedEvent
from crm_shared.records.events import ArchivedData, ConsentData, InteractionData, ReassignedData

Event = ReceivedEvent[EventData]
Document = dict[str, Any]

CONTACT_EVENTS: tuple[type[EventData], ...] = (
    ContactRegistered,
    ContactUpdated,
    ContactArchived,
    ContactRestored,
    ContactReassigned,
    ContactInteractionLogged,
    ContactConsentGranted,
    ContactConsentWithdrawn,
    ContactErased,
)
ACCOUNT_EVENTS: tuple[type[EventData], ...] = (
    AccountCreated,
    AccountUpdated,
    AccountArchived,
    AccountRestored,
    AccountReassigned,
    AccountInteractionLogged,
    AccountConsentGranted,
    AccountConsentWithdrawn,
)

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
    if value.tzinfo is UTC:
        return value  # what events carry: no conversion, which costs microseconds each
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


def utc(moment: datetime) -> str:
    return in_utc(moment).isoformat()


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


def apply_contact_event(doc: Document | None, event: Event) -> Document | None:
    """The contact's document after the event; None for a contact never registered."""
    at = _recorded_at(event)
    match event.data:
        case ContactRegistered() as registered:
            doc = _registered(event, registered, at)
    if doc is None:
        return None  # an event for a contact we never saw registered: nothing to show
    match event.data:
        case ContactUpdated() as updated:
            for field, value in updated.model_dump(mode="json").items():
                if field in PROFILE_FIELDS:
                    doc["profile"][field] = value
                else:
                    doc[field] = value
        case ContactInteractionLogged() as interaction:
            _count_interaction(doc["interactions"], interaction)
        case ContactConsentGranted() | ContactConsentWithdrawn() as consent:
            doc["consents"][consent.channel.value] = {
                "status": "granted" if isinstance(consent, ContactConsentGranted) else "withdrawn",
                "source": consent.source,
                "at": utc(consent.at),
            }
        case ContactErased():
            erase(doc, at)
        case other:
            _apply_record_event(doc, other)
    doc["version"] = event.version
    doc["updated_at"] = at
    return doc


def _registered(event: Event, registered: ContactRegistered, at: str) -> Document:
    data = registered.model_dump(mode="json")
    return {
        "id": str(event.aggregate_id),
        "profile": {f: data[f] for f in PROFILE_FIELDS},
        "tags": data["tags"],
        "owner": data["owner"],
        "department": data["department"],
        "account_id": data["account_id"],
        "archived": False,
        "consents": {},
        "interactions": {"count": 0, "last_at": None, "by_channel": {}},
        "created_at": at,
    }


def _count_interaction(stats: dict[str, Any], interaction: InteractionData) -> None:
    stats["count"] += 1
    channel = interaction.channel.value
    stats["by_channel"][channel] = stats["by_channel"].get(channel, 0) + 1
    occurred = in_utc(interaction.occurred_at)
    last = instant(stats["last_at"])
    if last is None or occurred > last:
        stats["last_at"] = occurred.isoformat()


PERSONAL_FIELDS = ContactRegistered.personal_fields()
EMPTY_LISTS = ("emails", "phones", "addresses")


def erase(doc: Document, at: str) -> None:
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


def apply_account_event(doc: Document | None, event: Event) -> Document | None:
    """The account's document after the event; None for an account never created."""
    match event.data:
        case AccountCreated() as created:
            data = created.model_dump(mode="json")
            doc = {"id": str(event.aggregate_id), "archived": False}
            doc |= {f: data[f] for f in ACCOUNT_FIELDS}
            doc["owner"], doc["department"] = data["owner"], data["department"]
    if doc is None:
        return None
    match event.data:
        case AccountUpdated() as updated:
            changed = updated.model_dump(mode="json")
            doc.update({k: v for k, v in changed.items() if k in ACCOUNT_FIELDS})
        case other:
            _apply_record_event(doc, other)
    doc["version"] = event.version
    return doc


def _apply_record_event(doc: Document, data: EventData) -> None:
    """What contacts and accounts share: archiving, restoring, moving."""
    match data:
        case ArchivedData():
            doc["archived"] = True
        case ContactRestored() | AccountRestored():
            doc["archived"] = False
        case ReassignedData(owner=owner, department=department):
            doc["owner"], doc["department"] = owner, department


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


SUMMARIES: dict[type[EventData], str] = {
    ContactRegistered: "Contact registered",
    ContactUpdated: "Profile updated",
    ContactArchived: "Contact archived",
    ContactRestored: "Contact restored",
    ContactReassigned: "Moved to another owner or department",
    ContactConsentGranted: "Consent granted",
    ContactConsentWithdrawn: "Consent withdrawn",
    ContactErased: "Personal data erased",
}


def _recorded_at(event: Event) -> str:
    return in_utc(event.time).isoformat()


def timeline_entry(event: Event) -> dict[str, Any]:
    """A contact event as its timeline shows it."""
    recorded_at = _recorded_at(event)
    entry: dict[str, Any] = {
        "event_id": str(event.event_id),
        "type": event.type_name,
        "occurred_at": recorded_at,
        "recorded_at": recorded_at,
        "actor": event.actor,
        "version": event.version,
    }
    match event.data:
        case InteractionData() as interaction:
            entry["occurred_at"] = utc(interaction.occurred_at)
            channel, direction = interaction.channel.value, interaction.direction.value
            entry["summary"] = f"{direction} {channel}"
            entry["interaction"] = {
                "interaction_id": str(interaction.interaction_id),
                "channel": channel,
                "direction": direction,
                "subject": interaction.subject,
                "notes": interaction.notes,
                "by": interaction.by,
            }
        case ContactUpdated() as updated:
            entry["summary"] = SUMMARIES[ContactUpdated]
            entry["changed_fields"] = sorted(updated.model_fields_set)
        case ConsentData() as consent:
            entry["summary"] = SUMMARIES[type(consent)]
            entry["consent"] = consent.model_dump(mode="json") | {"at": utc(consent.at)}
        case other:
            entry["summary"] = SUMMARIES[type(other)]
    return entry
