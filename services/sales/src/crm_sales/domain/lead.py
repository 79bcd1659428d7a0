"""A lead: a person, perhaps at a company, who may become a customer.

Its status moves forward: ``new`` until a rep starts working it, then ``qualified`` or
``disqualified`` (with a reason), and ``converted`` once it became a contact, an account
and an opportunity. A disqualified lead may be qualified again (a second look); a
converted one is done: it refuses every change, and a disqualified one cannot be
converted. Registering it and changing its fields rescore it (``lead_scoring``).

Its person is one data subject with the contact it became: when that contact is erased,
the lead is erased too (``LeadErased`` deletes the lead's data key), and refuses changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self
from uuid import UUID

from crm_sales.domain.lead_scoring import DEFAULT_RULES
from crm_sales.domain.scoring import (
    Engagement,
    EngagementKind,
    LeadFacts,
    ScoringRule,
    next_change,
    score,
)
from crm_shared.catalog.sales.leads import (
    LeadAssigned,
    LeadChanged,
    LeadConversionStarted,
    LeadConverted,
    LeadDisqualified,
    LeadEngaged,
    LeadErased,
    LeadQualified,
    LeadReassigned,
    LeadRegistered,
    LeadScoreChanged,
    LeadWorkStarted,
    ScoreReason,
)
from crm_shared.domain import Conflict, Gone, Invalid, applies
from crm_shared.events import EventData
from crm_shared.records.record import CrmRecord, RecordEvents


class LeadStatus(StrEnum):
    NEW = "new"
    WORKING = "working"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"


@dataclass(frozen=True, slots=True)
class ConversionPlan:
    """What a conversion creates, settled by the attempt that began it (``read_version``:
    the lead's version that attempt was asked to convert, for a retry's If-Match)."""

    owner: str
    create_account: bool
    read_version: int


class LeadAlreadyConverted(Conflict):
    """A converted lead lives on as its contact and opportunity: the lead itself is done."""

    code = "lead_converted"


class LeadStatusRefused(Conflict):
    """The lead's status does not allow this step (converting a disqualified lead, say)."""

    code = "lead_status"


class LeadErasedError(Gone):
    """The lead's person was erased: the lead can be read (as erased) but not changed."""

    code = "erased"


class EraseTheContact(Conflict):
    """A converted lead's person is a contact now: the right to erasure is exercised on the
    contact, whose erasure erases the lead with it (one person, one data subject)."""

    code = "erase_the_contact"


class ReasonRequired(Invalid):
    code = "reason_required"


class Lead(CrmRecord):
    creation_events = (LeadRegistered,)
    events = RecordEvents(updated=LeadChanged, reassigned=LeadReassigned)
    # The rules a lead is scored by when its command brings none.
    scoring_rules: ClassVar[Sequence[ScoringRule]] = DEFAULT_RULES

    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    job_title: str | None
    company_name: str | None
    company_size: int | None
    industry: str | None
    country: str | None
    region: str | None
    source: str | None
    campaign_id: UUID | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    team: str | None
    status: LeadStatus
    disqualification_reason: str | None
    score: int
    score_reasons: list[ScoreReason]
    rescore_at: datetime | None
    engagements: list[Engagement]
    engagement_sources: set[UUID]
    contact_id: UUID | None
    account_id: UUID | None
    opportunity_id: UUID | None
    conversion_plan: ConversionPlan | None = None
    erased_at: datetime | None = None

    @classmethod
    def create(
        cls, record_id: UUID, details: EventData, rules: Sequence[ScoringRule] | None = None
    ) -> Self:
        lead = super().create(record_id, details)
        lead._rescore(rules)
        return lead

    @applies(LeadRegistered)
    def _registered(self, e: LeadRegistered) -> None:
        self._start_record(e)
        self.status = LeadStatus.NEW
        self.disqualification_reason = None
        self.score, self.score_reasons, self.rescore_at = 0, [], None
        self.engagements, self.engagement_sources = [], set()
        self.contact_id = self.account_id = self.opportunity_id = None

    # --- fields and score ------------------------------------------------------------

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    def check_changeable(self) -> None:
        if self.erased:
            raise LeadErasedError(f"lead {self.id} was erased")
        if self.status is LeadStatus.CONVERTED:
            raise LeadAlreadyConverted(f"lead {self.id} was converted")

    def update(
        self, changes: Mapping[str, Any], rules: Sequence[ScoringRule] | None = None
    ) -> None:
        super().update(changes)
        self._rescore(rules)

    def engage(
        self,
        kind: EngagementKind,
        at: datetime,
        source_event_id: UUID,
        rules: Sequence[ScoringRule] | None = None,
    ) -> None:
        """Counts an engagement another service's event told of, once per event however
        often it is delivered, and rescores. A converted lead still counts it (its contact's
        interactions are the lead's person engaging); an erased one has no one to score."""
        if self.erased or source_event_id in self.engagement_sources:
            return
        self._trigger(LeadEngaged(kind=kind.value, at=at, source_event_id=source_event_id))
        self._rescore(rules)

    @applies(LeadEngaged)
    def _engaged(self, e: LeadEngaged) -> None:
        self.engagements.append(Engagement(EngagementKind(e.kind), e.at))
        self.engagement_sources.add(e.source_event_id)

    def rescore(self, rules: Sequence[ScoringRule], at: datetime) -> None:
        """The score as of ``at`` (the sweeper's clock), recorded only when the points,
        the rules and engagements behind them, or the instant of the next change moved:
        not for decayed amounts alone, which move all the time."""
        if not self.erased:
            self._rescore(rules, at, amounts_matter=False)

    def _facts(self) -> LeadFacts:
        return LeadFacts(
            job_title=self.job_title,
            company_size=self.company_size,
            # Sources are matched as the rules name them, whatever the case typed.
            source=self.source.casefold() if self.source else None,
            engagements=tuple(self.engagements),
        )

    def _rescore(
        self,
        rules: Sequence[ScoringRule] | None = None,
        at: datetime | None = None,
        *,
        amounts_matter: bool = True,
    ) -> None:
        """Records the score whenever it, a reason for it, or its next change moves."""
        rules = self.scoring_rules if rules is None else rules
        at = at or self.last_modified
        facts = self._facts()
        scored = score(facts, rules, at=at)
        reasons = [ScoreReason(rule=r.rule, points=r.points, when=r.when) for r in scored.reasons]
        due = next_change(facts, rules, at=at)
        if amounts_matter:
            moved = (scored.points, reasons) != (self.score, self.score_reasons)
        else:
            moved = (scored.points, _why(reasons)) != (self.score, _why(self.score_reasons))
        if moved or due != self.rescore_at:
            self._trigger(LeadScoreChanged(score=scored.points, reasons=reasons, rescore_at=due))

    @applies(LeadScoreChanged)
    def _score_changed(self, e: LeadScoreChanged) -> None:
        self.score, self.score_reasons = e.score, list(e.reasons)
        self.rescore_at = e.rescore_at

    # --- status ----------------------------------------------------------------------

    def start_work(self) -> None:
        self.check_changeable()
        if self.status is LeadStatus.WORKING:
            return
        if self.status is not LeadStatus.NEW:
            raise LeadStatusRefused(f"a {self.status} lead is past being worked on")
        self._trigger(LeadWorkStarted())

    @applies(LeadWorkStarted)
    def _work_started(self, _: LeadWorkStarted) -> None:
        self.status = LeadStatus.WORKING

    def qualify(self) -> None:
        self.check_changeable()
        if self.status is not LeadStatus.QUALIFIED:
            self._trigger(LeadQualified())

    @applies(LeadQualified)
    def _qualified(self, _: LeadQualified) -> None:
        self.status = LeadStatus.QUALIFIED
        self.disqualification_reason = None

    def disqualify(self, reason: str) -> None:
        self.check_changeable()
        if not reason.strip():
            raise ReasonRequired("say why the lead is disqualified", field="reason")
        if (self.status, self.disqualification_reason) != (LeadStatus.DISQUALIFIED, reason):
            self._trigger(LeadDisqualified(reason=reason))

    @applies(LeadDisqualified)
    def _disqualified(self, e: LeadDisqualified) -> None:
        self.status = LeadStatus.DISQUALIFIED
        self.disqualification_reason = e.reason

    def check_convertible(self) -> None:
        """Checked before a conversion creates anything elsewhere, and again as it ends."""
        self.check_changeable()
        if self.status is LeadStatus.DISQUALIFIED:
            raise LeadStatusRefused("a disqualified lead is not converted: qualify it first")

    def start_conversion(self, *, owner: str, create_account: bool) -> ConversionPlan:
        """The conversion's plan: the one an earlier attempt settled, else this one."""
        self.check_convertible()
        if self.conversion_plan is None:
            self._trigger(LeadConversionStarted(owner=owner, create_account=create_account))
        assert self.conversion_plan is not None
        return self.conversion_plan

    @applies(LeadConversionStarted)
    def _conversion_started(self, e: LeadConversionStarted) -> None:
        # Applied before the version moves on: ``self.version`` is still the one read.
        self.conversion_plan = ConversionPlan(e.owner, e.create_account, self.version)

    def matches_version(self, expected: int | None) -> bool:
        """If-Match for a conversion: the version now, or the one the conversion that
        began was asked for (a retry of it carries that one)."""
        plan_read = self.conversion_plan.read_version if self.conversion_plan else None
        return expected is None or expected in (self.version, plan_read)

    def convert(
        self, *, contact_id: UUID, account_id: UUID | None, opportunity_id: UUID | None
    ) -> None:
        self.check_convertible()
        self._trigger(
            LeadConverted(
                contact_id=contact_id, account_id=account_id, opportunity_id=opportunity_id
            )
        )

    @applies(LeadConverted)
    def _converted(self, e: LeadConverted) -> None:
        self.status = LeadStatus.CONVERTED
        self.contact_id, self.account_id = e.contact_id, e.account_id
        self.opportunity_id = e.opportunity_id

    # --- assignment by the rules (crm_sales.domain.assignment_turns) -------------------

    def assign(self, owner: str, team: str, rule: str, territory: int | None) -> None:
        """The rules gave the lead ``owner`` of ``team`` (a manager's move is ``reassign``).
        Recorded even when it is the same rep: the team's turn moved for it (on the team's
        stream of turns for the day)."""
        self.check_changeable()
        self._trigger(LeadAssigned(owner=owner, team=team, rule=rule, territory=territory))

    @applies(LeadAssigned)
    def _assigned(self, e: LeadAssigned) -> None:
        self.owner, self.team = e.owner, e.team

    # --- one data subject --------------------------------------------------------------

    def erase_on_request(self) -> None:
        """Right to erasure asked of the lead itself (a person who never became a contact)."""
        if self.status is LeadStatus.CONVERTED and not self.erased:
            raise EraseTheContact(
                f"lead {self.id} became contact {self.contact_id}: erase the contact,"
                " which erases the lead with it"
            )
        self.erase()

    def erase(self, *, contact_id: UUID | None = None) -> None:
        """Right to erasure, reaching the lead: its data key goes, and with it every
        personal field of every event. Erasing an erased lead changes nothing, so an
        erasure delivered twice records one event."""
        if not self.erased:
            self._trigger(LeadErased(contact_id=contact_id))

    @applies(LeadErased)
    def _erased(self, _: LeadErased) -> None:
        self.erased_at = self.last_modified
        self.first_name = self.last_name = self.email = self.phone = None


def _why(reasons: Sequence[ScoreReason]) -> list[tuple[str, datetime | None]]:
    """The reasons without their amounts: which rules, for which engagements."""
    return [(reason.rule, reason.when) for reason in reasons]
