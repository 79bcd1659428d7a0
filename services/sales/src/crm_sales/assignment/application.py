"""The use cases of assignment: reading and setting the rules (managers and admins set
them), and assigning a lead by them.

Assigning is one command on the lead that only reads the rules (group commit's
``reads``) and takes the team's turn on the team's stream of turns for today
(``also_touches``): the turn and the lead's new owner are stored in one transaction, both
or neither. It reads yesterday's stream too, so the day's first lead continues the
rotation from yesterday's last turn.

Which team, and so which streams, is only known once the lead and the rules are read.
Rather than read both before submitting (two more reads, and the lead could change in
between), the command is submitted with a guess, the team this process assigned last: the
command reads the lead and the rules in its batch and decides the team; if it is not the
guess, it is refused before anything is recorded (``TurnsElsewhere``) and submitted again
with that team's streams. Most assignments of a process go to few teams, so the guess is
mostly right: one batch; a wrong one costs one more, which records nothing.

Two assignments of one team at the same moment in one process run one after the other
(they touch the same stream); in two processes, one conflicts on the stream's version and
is decided again on the fresh turn (``ATTEMPTS``), so a turn is never given twice. "Today"
is the UTC day when the command is submitted, from the injected ``today`` clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from crm_sales.assignment.commands import AssignLead, AssignmentCommand, SetRep, SetTerritories
from crm_sales.assignment.views import AssignmentRulesView
from crm_sales.domain.assignment import LeadPlace, RoundRobin, Territory
from crm_sales.domain.assignment_rules import ASSIGNMENT_RULES_ID, AssignmentRules, NoEligibleRep
from crm_sales.domain.assignment_turns import TeamTurns, turns_id
from crm_sales.domain.lead import Lead
from crm_shared.auth.policy import Action, authorize
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.domain import Conflict, DomainError, Forbidden, NotFound
from crm_shared.eventstore.group_commit import (
    CommandFn,
    ConcurrencyConflict,
    Outcome,
    UnitOfWork,
    check_version,
)
from crm_shared.records.application import Committer, RecordedEvents
from crm_shared.records.views import RecordKind

RULE_SETTERS = frozenset({Role.ADMIN, Role.MANAGER})
# Another process assigning at the same moment took the turn first, or the lead's team
# was not the one guessed: decide again.
ATTEMPTS = 8


def utc_today() -> date:
    return datetime.now(UTC).date()


class LeadOwned(Conflict):
    """Assigning on registration leaves alone a lead that has an owner by then."""

    code = "lead_owned"


class TurnsElsewhere(DomainError):
    """The lead's team is not the one whose turns the command loaded: nothing is recorded,
    and the command is submitted again with ``team``'s turns. Never leaves this module."""

    def __init__(self, team: str) -> None:
        super().__init__(f"the lead goes to team {team!r}")
        self.team = team


def _rules_in(unit: UnitOfWork) -> AssignmentRules:
    """The rules as stored, or blank before anyone set them."""
    try:
        rules = unit.get(AssignmentRules, ASSIGNMENT_RULES_ID)
    except NotFound:
        rules = AssignmentRules.blank()
        unit.add(rules)
    return rules


def _turns_in(unit: UnitOfWork, team: str, day: date) -> TeamTurns:
    """The team's turns of the day, or none taken yet."""
    try:
        return unit.get(TeamTurns, turns_id(team, day))
    except NotFound:
        turns = TeamTurns.opening(team, day)
        unit.add(turns)
        return turns


def _last_turn(unit: UnitOfWork, team: str, today: date) -> str | None:
    """The rep given the team's last lead: today, else yesterday, else nobody yet."""
    taken = _turns_in(unit, team, today).last
    if taken is None:
        try:
            taken = unit.get(TeamTurns, turns_id(team, today - timedelta(days=1))).last
        except NotFound:
            return None
    return taken


def _rules_outcome(rules: AssignmentRules) -> Outcome:
    body = AssignmentRulesView.of(rules).model_dump_json().encode()
    return Outcome(rules.id, rules.version, body)


class LeadAssignment:
    def __init__(
        self,
        events: RecordedEvents,
        committer: Committer,
        lead: RecordKind[Any],
        today: Callable[[], date] = utc_today,
    ):
        self.events, self.committer, self.lead, self.today = events, committer, lead, today
        self._last_team: str | None = None  # the guess for the next lead's team

    # --- the rules -----------------------------------------------------------------------

    def rules(self) -> AssignmentRulesView:
        """The rules, and per team the rep given its last lead today or yesterday."""
        stored = AssignmentRules.project(None, self.events.events_of(ASSIGNMENT_RULES_ID))
        rules = stored or AssignmentRules.blank()
        today = self.today()
        turns = {team: self._last_turn(team, today) for team in rules.teams()}
        taken = {team: rep for team, rep in turns.items() if rep is not None}
        return AssignmentRulesView.of(rules, taken)

    def _last_turn(self, team: str, today: date) -> str | None:
        for day in (today, today - timedelta(days=1)):
            turns = TeamTurns.project(None, self.events.events_of(turns_id(team, day)))
            if turns is not None:
                return turns.last
        return None

    async def handle(self, command: AssignmentCommand, context: CommandContext) -> Outcome:
        match command:
            case SetTerritories(territories=territories):
                return await self.set_territories(territories, context)
            case SetRep(user=user, team=team, active=active):
                return await self.set_rep(user, team, active, context)
            case AssignLead(lead_id=lead_id):
                return await self.assign_lead(lead_id, context)

    async def set_territories(
        self, territories: Sequence[Territory], context: CommandContext
    ) -> Outcome:
        _check_may_set_rules(context.principal)

        def run(unit: UnitOfWork) -> Outcome:
            rules = _rules_in(unit)
            check_version(rules, context.expected_version)
            rules.set_territories(territories)
            return _rules_outcome(rules)

        return await self._submit(run, ASSIGNMENT_RULES_ID, context)

    async def set_rep(self, user: str, team: str, active: bool, context: CommandContext) -> Outcome:
        _check_may_set_rules(context.principal)

        def run(unit: UnitOfWork) -> Outcome:
            rules = _rules_in(unit)
            check_version(rules, context.expected_version)
            rules.set_rep(user, team, active)
            return _rules_outcome(rules)

        return await self._submit(run, ASSIGNMENT_RULES_ID, context)

    # --- assigning -----------------------------------------------------------------------

    async def assign_lead(
        self, lead_id: UUID, context: CommandContext, *, unowned_only: bool = False
    ) -> Outcome:
        """The lead's owner and team by the rules (``NoEligibleRep``: nothing recorded)."""
        principal, kind = context.principal, self.lead

        def deciding(team: str | None, today: date) -> CommandFn:
            def run(unit: UnitOfWork) -> Outcome:
                lead = unit.get(Lead, lead_id)
                # Out of sight before anything else: not even the version may leak.
                authorize(principal, Action.REASSIGN, lead.scope, "lead")
                check_version(lead, context.expected_version)
                lead.check_changeable()
                if unowned_only and lead.owner is not None:
                    raise LeadOwned(f"lead {lead.id} is owned by {lead.owner}")
                place = LeadPlace(country=lead.country, region=lead.region, team=lead.team)
                rules = _rules_in(unit)
                placed = rules.place(place)
                if placed.team != team:
                    raise TurnsElsewhere(placed.team)
                last = _last_turn(unit, placed.team, today)
                given = rules.assign(place, RoundRobin({placed.team: last} if last else {}))
                _turns_in(unit, placed.team, today).take(lead.id, given)
                lead.assign(given.rep, given.team, given.rule, given.territory)
                return kind.outcome(lead)

            return run

        team, lost_races, wrong_teams = self._last_team, 0, 0
        while True:
            today = self.today()
            turns = () if team is None else (turns_id(team, today),)
            earlier = () if team is None else (turns_id(team, today - timedelta(days=1)),)
            try:
                return await self._submit(
                    deciding(team, today),
                    lead_id,
                    context,
                    also_touches=turns,
                    reads=(ASSIGNMENT_RULES_ID, *earlier),
                )
            except TurnsElsewhere as elsewhere:
                # Past the first wrong guess, only a change of the lead or the rules at
                # that moment moves the team again.
                wrong_teams += 1
                if wrong_teams == ATTEMPTS:
                    changing = f"lead {lead_id}'s team kept changing; retry"
                    raise ConcurrencyConflict(changing) from elsewhere
                team = self._last_team = elsewhere.team
            except ConcurrencyConflict:
                lost_races += 1
                if lost_races == ATTEMPTS:
                    raise

    async def assign_registered(self, registered: Outcome, context: CommandContext) -> Outcome:
        """A lead registered without an owner, assigned by the rules as it is registered:
        when nobody is eligible it stays unassigned, and the registration stands. A retried
        registration (same ``Idempotency-Key``) answers its first assignment again, and
        never overrides an owner given since."""
        key = context.idempotency_key
        assigning = replace(
            context,
            expected_version=None,
            idempotency_key=None if key is None else f"{key}|assignment",
        )
        try:
            return await self.assign_lead(registered.aggregate_id, assigning, unowned_only=True)
        except (NoEligibleRep, LeadOwned, Forbidden):
            return registered

    async def _submit(
        self,
        run: CommandFn,
        touches: UUID,
        context: CommandContext,
        also_touches: Sequence[UUID] = (),
        reads: tuple[UUID, ...] = (),
    ) -> Outcome:
        return await self.committer.submit(
            run,
            touches=touches,
            metadata=context.metadata,
            idempotency_key=context.idempotency_key,
            fingerprint=context.fingerprint,
            also_touches=also_touches,
            reads=reads,
        )


def _check_may_set_rules(principal: Principal) -> None:
    if principal.role not in RULE_SETTERS:
        raise Forbidden(f"role {principal.role} may not set assignment rules: managers do")
