"""The CRM record: owner and department, archiving, an interaction log and consent per
channel. Each kind of record (a contact, an account) names its own event types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID

from crm_shared.auth.policy import Reference, Scope
from crm_shared.domain import Aggregate, Conflict, Invalid
from crm_shared.events import EventData
from crm_shared.records.events import ArchivedData, ConsentData, InteractionData, ReassignedData
from crm_shared.values import Channel, ConsentChannel, ConsentStatus, Direction

E = TypeVar("E", bound=EventData)


class RecordArchived(Conflict):
    """An archived record takes no changes and no interactions until it is restored."""

    code = "archived"


class UnownedRecordRefused(Invalid):
    """An unowned record is open to every rep of its department: putting one there is a
    manager's decision (``may_leave_unowned``)."""


class DepartmentRequired(Invalid):
    """A new record belongs to a department: the caller's, or the one they name."""


@dataclass(frozen=True, slots=True)
class Consent:
    channel: ConsentChannel
    status: ConsentStatus
    source: str | None
    at: datetime


@dataclass(frozen=True)
class RecordEvents:
    """A kind of record's own event types. Its fields change (``updated``); the rest is
    what the kind offers: without ``archived`` and ``restored`` it is never archived,
    without ``reassigned`` never moved, and so on (its routes leave those out too)."""

    updated: type[EventData]
    archived: type[ArchivedData] | None = None
    restored: type[EventData] | None = None
    reassigned: type[ReassignedData] | None = None
    interaction_logged: type[InteractionData] | None = None
    consent_granted: type[ConsentData] | None = None
    consent_withdrawn: type[ConsentData] | None = None

    @property
    def archiving(self) -> bool:
        return self.archived is not None and self.restored is not None

    @property
    def consents(self) -> bool:
        return self.consent_granted is not None and self.consent_withdrawn is not None


def offered(event_type: type[E] | None) -> type[E]:
    """The kind of record's event type for a command it offers."""
    if event_type is None:
        raise NotImplementedError("this kind of record does not offer that command")
    return event_type


class CrmRecord(Aggregate):
    events: ClassVar[RecordEvents]
    # The fields that point at another record, and the kind of record each names (a
    # contact's ``account_id`` names an account): the policy vets them (``vet_references``).
    reference_fields: ClassVar[Mapping[str, str]] = {}

    owner: str | None
    department: str
    archived: bool
    interactions: list[InteractionData]
    consents: dict[ConsentChannel, Consent]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        e = cls.events
        appliers: dict[type[EventData] | None, Any] = {
            e.updated: CrmRecord._updated,
            e.archived: CrmRecord._archived,
            e.restored: CrmRecord._restored,
            e.reassigned: CrmRecord._reassigned,
            e.interaction_logged: CrmRecord._interaction_logged,
            e.consent_granted: CrmRecord._consent_granted,
            e.consent_withdrawn: CrmRecord._consent_withdrawn,
        }
        cls.appliers.update({k: v for k, v in appliers.items() if k is not None})
        # A new record takes its creation event's fields as they are, unless its kind
        # applies that event its own way.
        for created in cls.creation_events:
            cls.appliers.setdefault(created, CrmRecord._start_record)

    @classmethod
    def create(cls, record_id: UUID, details: EventData) -> Self:
        """A new record from its creation event's data (owner and department included)."""
        record = cls(record_id)
        record._trigger(details)
        return record

    @classmethod
    def references_in(cls, values: Mapping[str, Any]) -> dict[str, Reference]:
        """The references these values of the record's fields make, by the field each is
        in as a request names it (a null makes none: clearing a reference is always
        allowed). A kind whose references sit in lists or nested values adds those."""
        return {
            name: Reference(field=name, kind=kind, target=values[name])
            for name, kind in cls.reference_fields.items()
            if values.get(name) is not None
        }

    def holds(self, reference: Reference) -> bool:
        """Whether the record already names that record, in whichever field: a reference
        kept as it was is not judged again (``vet_references``)."""
        held = self.references_in(vars(self)).values()
        return any((r.kind, r.target) == (reference.kind, reference.target) for r in held)

    @classmethod
    def noun(cls) -> str:
        """How errors and answers name this kind of record."""
        return cls.__name__.lower()

    @property
    def scope(self) -> Scope:
        return Scope(owner=self.owner, department=self.department)

    def _start_record(self, details: EventData) -> None:
        for name in type(details).model_fields:
            setattr(self, name, getattr(details, name))
        self.archived = False
        self.interactions = []
        self.consents = {}

    def check_not_archived(self) -> None:
        if self.archived:
            raise RecordArchived(f"{self.noun()} {self.id} is archived")

    def check_changeable(self) -> None:
        """Every command asks first; a contact refuses once the person is erased."""

    def update(self, changes: Mapping[str, Any]) -> None:
        self.check_changeable()
        self.check_not_archived()
        really_changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if really_changed:
            self._trigger(self.events.updated(**really_changed))

    def _updated(self, e: EventData) -> None:
        for name in e.model_fields_set:
            setattr(self, name, getattr(e, name))

    def archive(self, reason: str | None) -> None:
        self.check_changeable()
        if not self.archived:
            self._trigger(offered(self.events.archived)(reason=reason))

    def _archived(self, _: EventData) -> None:
        self.archived = True

    def restore(self) -> None:
        self.check_changeable()
        if self.archived:
            self._trigger(offered(self.events.restored)())

    def _restored(self, _: EventData) -> None:
        self.archived = False

    def reassign(self, owner: str | None, department: str, **details: Any) -> None:
        """``details``: what the kind's reassigned event carries besides (a lead's team),
        recorded where it changes; absent or null leaves it as it is."""
        self.check_changeable()
        changed = {k: v for k, v in details.items() if v is not None and getattr(self, k) != v}
        if (owner, department) != (self.owner, self.department) or changed:
            event = offered(self.events.reassigned)
            self._trigger(event(owner=owner, department=department, **changed))

    def _reassigned(self, e: ReassignedData) -> None:
        self.owner, self.department = e.owner, e.department
        for name in type(e).model_fields.keys() - ReassignedData.model_fields.keys():
            if getattr(e, name) is not None:
                setattr(self, name, getattr(e, name))

    def log_interaction(
        self,
        *,
        interaction_id: UUID,
        channel: Channel,
        direction: Direction,
        subject: str | None,
        notes: str | None,
        occurred_at: datetime,
        by: str | None,
    ) -> None:
        self.check_changeable()
        self.check_not_archived()
        self._trigger(
            offered(self.events.interaction_logged)(
                interaction_id=interaction_id,
                channel=channel,
                direction=direction,
                subject=subject,
                notes=notes,
                occurred_at=occurred_at,
                by=by,
            )
        )

    def _interaction_logged(self, e: InteractionData) -> None:
        self.interactions.append(e)

    def set_consent(
        self, channel: ConsentChannel, status: ConsentStatus, source: str | None, at: datetime
    ) -> None:
        self.check_changeable()
        current = self.consents.get(channel)
        if current is not None and current.status == status:
            return  # already so: setting consent is idempotent
        granted = status == ConsentStatus.GRANTED
        event_class = offered(
            self.events.consent_granted if granted else self.events.consent_withdrawn
        )
        self._trigger(event_class(channel=channel, source=source, at=at))

    def _consent_granted(self, e: ConsentData) -> None:
        self.consents[e.channel] = Consent(e.channel, ConsentStatus.GRANTED, e.source, e.at)

    def _consent_withdrawn(self, e: ConsentData) -> None:
        self.consents[e.channel] = Consent(e.channel, ConsentStatus.WITHDRAWN, e.source, e.at)
