"""The use cases of assignment: reading and setting the rules (managers and admins set
them), and assigning a lead by them.

Assigning is one command on the lead that also touches the rules (group commit's
``also_touches``): the rules take the team's turn and the lead records its new owner in
one transaction, both or neither. Two assignments at the same moment in one process run
one after the other on fresh rules; in two processes, one conflicts on the rules' version
and is decided again on the fresh turn (``ATTEMPTS``), so a turn is never given twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from crm_sales.assignment.commands import AssignLead, AssignmentCommand, SetRep, SetTerritories
from crm_sales.assignment.views import AssignmentRulesView
from crm_sales.domain.assignment import LeadPlace, Territory
from crm_sales.domain.assignment_rules import ASSIGNMENT_RULES_ID, AssignmentRules, NoEligibleRep
from crm_sales.domain.lead import Lead
from crm_shared.auth.policy import Action, authorize
from crm_shared.auth.principal import Principal, Role
from crm_shared.commands import CommandContext
from crm_shared.domain import Conflict, Forbidden, NotFound
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
# Another process assigning at the same moment took the turn first: decide again.
ATTEMPTS = 8


class LeadOwned(Conflict):
    """Assigning on registration leaves alone a lead that has an owner by then."""

    code = "lead_owned"


def _rules_in(unit: UnitOfWork) -> AssignmentRules:
    """The rules as stored, or blank before anyone set them."""
    try:
        rules = unit.get(AssignmentRules, ASSIGNMENT_RULES_ID)
    except NotFound:
        rules = AssignmentRules.blank()
        unit.add(rules)
    return rules


def _rules_outcome(rules: AssignmentRules) -> Outcome:
    body = AssignmentRulesView.of(rules).model_dump_json().encode()
    return Outcome(rules.id, rules.version, body)


class LeadAssignment:
    def __init__(self, events: RecordedEvents, committer: Committer, lead: RecordKind[Any]):
        self.events, self.committer, self.lead = events, committer, lead

    # --- the rules -----------------------------------------------------------------------

    def rules(self) -> AssignmentRulesView:
        stored = AssignmentRules.project(None, self.events.events_of(ASSIGNMENT_RULES_ID))
        return AssignmentRulesView.of(stored or AssignmentRules.blank())

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

        def run(unit: UnitOfWork) -> Outcome:
            lead = unit.get(Lead, lead_id)
            # Out of sight before anything else: not even the version may leak.
            authorize(principal, Action.REASSIGN, lead.scope, "lead")
            check_version(lead, context.expected_version)
            lead.check_changeable()
            if unowned_only and lead.owner is not None:
                raise LeadOwned(f"lead {lead.id} is owned by {lead.owner}")
            place = LeadPlace(country=lead.country, region=lead.region, team=lead.team)
            given = _rules_in(unit).assign(lead.id, place)
            lead.assign(given.rep, given.team, given.rule, given.territory)
            return kind.outcome(lead)

        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self._submit(
                    run, lead_id, context, also_touches=(ASSIGNMENT_RULES_ID,)
                )
            except ConcurrencyConflict:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

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
    ) -> Outcome:
        return await self.committer.submit(
            run,
            touches=touches,
            metadata=context.metadata,
            idempotency_key=context.idempotency_key,
            fingerprint=context.fingerprint,
            also_touches=also_touches,
        )


def _check_may_set_rules(principal: Principal) -> None:
    if principal.role not in RULE_SETTERS:
        raise Forbidden(f"role {principal.role} may not set assignment rules: managers do")
