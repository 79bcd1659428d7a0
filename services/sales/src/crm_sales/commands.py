"""The sales service's own commands on leads; reassigning one is the generic
``crm_shared.records.commands.ReassignRecord``.

The commands that score a lead carry the scoring rules in force (``rules``), read from the
rule set in the command's own batch (``ScoresLead``, group commit's ``reads``): the
aggregate scores by what it is given, and reads nothing itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

from crm_sales.domain.lead import Lead
from crm_sales.domain.scoring import EngagementKind, ScoringRule
from crm_sales.domain.scoring_rules import SCORING_RULES_ID, ScoringRuleSet
from crm_shared.auth.policy import Action
from crm_shared.domain import NotFound
from crm_shared.events import EventData
from crm_shared.records.commands import ChangeRecord, CreateRecord, RecordCommand

if TYPE_CHECKING:
    from crm_shared.eventstore.group_commit import UnitOfWork

# None: not filled in yet (read in the command's batch; the defaults before any put).
Rules = Sequence[ScoringRule] | None


class ScoresLead:
    """A command that scores a lead: unless given its rules, it reads the rule set in force
    in its own batch (one query with the lead's, however many commands share the batch)."""

    rules: Rules

    def reads(self) -> tuple[UUID, ...]:
        return (SCORING_RULES_ID,) if self.rules is None else ()

    def reading(self, unit: UnitOfWork) -> Self:
        if self.rules is not None:
            return self
        try:
            rules = unit.get(ScoringRuleSet, SCORING_RULES_ID).rules
        except NotFound:  # no rules were ever put: the defaults are in force
            rules = ScoringRuleSet.of().rules
        command: Any = self
        return replace(command, rules=rules)  # type: ignore[no-any-return]


@dataclass(frozen=True, kw_only=True, repr=False)
class RegisterLead(ScoresLead, CreateRecord[Lead]):
    record_type: type[Lead] = field(default=Lead, init=False)
    rules: Rules = None

    def create_record(self, details: EventData) -> Lead:
        return Lead.create(self.record_id, details, self.rules)


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeLead(ScoresLead, ChangeRecord[Lead]):
    record_type: type[Lead] = field(default=Lead, init=False)
    rules: Rules = None

    def apply(self, record: Lead) -> None:
        record.update(self.changes, self.rules)


@dataclass(frozen=True, kw_only=True)
class EngageLead(ScoresLead, RecordCommand[Lead]):
    """Another service's event (``source_event_id``) told that the lead engaged: counted
    once per event (``Lead.engage``). Sent by the service itself (``crm_sales.engagement``)."""

    record_type: type[Lead] = field(default=Lead, init=False)
    kind: EngagementKind
    at: datetime
    source_event_id: UUID
    rules: Rules = field(default=None, repr=False)

    def apply(self, record: Lead) -> None:
        record.engage(self.kind, self.at, self.source_event_id, self.rules)


@dataclass(frozen=True, kw_only=True)
class RescoreLead(ScoresLead, RecordCommand[Lead]):
    """The lead's score as of ``at``, as its engagement aged or the rules changed (the
    rescoring sweeper's)."""

    record_type: type[Lead] = field(default=Lead, init=False)
    at: datetime
    rules: Rules = field(default=None, repr=False)

    def apply(self, record: Lead) -> None:
        record.rescore(self.rules if self.rules is not None else Lead.scoring_rules, self.at)


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


@dataclass(frozen=True, kw_only=True)
class EraseLeadOnRequest(RecordCommand[Lead]):
    """Right to erasure, asked of a lead (``Lead.erase_on_request``): admins, and managers
    of its department, as for a contact."""

    action: ClassVar[Action] = Action.ERASE

    record_type: type[Lead] = field(default=Lead, init=False)

    def apply(self, record: Lead) -> None:
        record.erase_on_request()
