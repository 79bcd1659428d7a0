"""The sales service's own commands on leads; reassigning one is the generic
``crm_shared.records.commands.ReassignRecord``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar
from uuid import UUID

from crm_sales.domain.lead import Lead
from crm_shared.auth.policy import Action
from crm_shared.records.commands import ChangeRecord, CreateRecord, RecordCommand


@dataclass(frozen=True, kw_only=True, repr=False)
class RegisterLead(CreateRecord[Lead]):
    record_type: type[Lead] = field(default=Lead, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeLead(ChangeRecord[Lead]):
    record_type: type[Lead] = field(default=Lead, init=False)


@dataclass(frozen=True, kw_only=True)
class StartWorkingLead(RecordCommand[Lead]):
    record_type: type[Lead] = field(default=Lead, init=False)

    def apply(self, record: Lead) -> None:
        record.start_work()


@dataclass(frozen=True, kw_only=True)
class QualifyLead(RecordCommand[Lead]):
    record_type: type[Lead] = field(default=Lead, init=False)

    def apply(self, record: Lead) -> None:
        record.qualify()


@dataclass(frozen=True, kw_only=True)
class DisqualifyLead(RecordCommand[Lead]):
    record_type: type[Lead] = field(default=Lead, init=False)
    # Free text a rep typed: kept out of the command's description (and so of the logs).
    reason: str = field(repr=False)

    def apply(self, record: Lead) -> None:
        record.disqualify(self.reason)


@dataclass(frozen=True, kw_only=True)
class StartLeadConversion(RecordCommand[Lead]):
    """Settles what a conversion creates (``Lead.start_conversion``), unless an earlier
    attempt did."""

    record_type: type[Lead] = field(default=Lead, init=False)
    owner: str
    create_account: bool

    def apply(self, record: Lead) -> None:
        record.start_conversion(owner=self.owner, create_account=self.create_account)


@dataclass(frozen=True, kw_only=True)
class ConvertLead(RecordCommand[Lead]):
    """Records what a conversion created; creating them is the conversion's own work."""

    record_type: type[Lead] = field(default=Lead, init=False)
    contact_id: UUID
    account_id: UUID | None = None
    opportunity_id: UUID | None = None

    def apply(self, record: Lead) -> None:
        record.convert(
            contact_id=self.contact_id,
            account_id=self.account_id,
            opportunity_id=self.opportunity_id,
        )


@dataclass(frozen=True, kw_only=True)
class EraseLead(RecordCommand[Lead]):
    """The lead's person was erased as the contact it became (``contact_id``): the sales
    service erases the lead for them (``crm_sales.contact_links``)."""

    action: ClassVar[Action] = Action.ERASE

    record_type: type[Lead] = field(default=Lead, init=False)
    contact_id: UUID | None = None

    def apply(self, record: Lead) -> None:
        record.erase(contact_id=self.contact_id)
