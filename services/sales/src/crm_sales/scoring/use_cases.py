"""Reading and putting the scoring rules: every caller of the service reads them, managers
and admins put them (If-Match on the rule set's version), through group commit like every
command."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crm_sales.domain.scoring_rules import SCORING_RULES_ID, ScoringRuleSet
from crm_sales.scoring.rules_in_force import RulesInForce
from crm_sales.scoring.views import ScoringRulesView
from crm_shared.auth.principal import Role
from crm_shared.catalog.sales.scoring_rules import ScoringRuleData
from crm_shared.commands import CommandContext
from crm_shared.domain import Forbidden, NotFound
from crm_shared.eventstore.group_commit import Outcome, UnitOfWork, check_version
from crm_shared.records.application import Committer

RULE_SETTERS = frozenset({Role.ADMIN, Role.MANAGER})


class ScoringRules:
    def __init__(self, in_force: RulesInForce, committer: Committer) -> None:
        self.in_force, self.committer = in_force, committer

    async def read(self) -> Outcome:
        rule_set = await asyncio.to_thread(self.in_force.rule_set)
        return _outcome(rule_set)

    async def put(self, rules: Sequence[ScoringRuleData], context: CommandContext) -> Outcome:
        role = context.principal.role
        if role not in RULE_SETTERS:
            raise Forbidden(f"role {role} may not put scoring rules: managers and admins do")

        def run(unit: UnitOfWork) -> Outcome:
            try:
                rule_set = unit.get(ScoringRuleSet, SCORING_RULES_ID)
            except NotFound:  # nothing put yet: the defaults, at version 0
                rule_set = ScoringRuleSet.of()
            unit.add(rule_set)
            check_version(rule_set, context.expected_version)
            rule_set.put(rules)
            return _outcome(rule_set)

        return await self.committer.submit(
            run,
            touches=SCORING_RULES_ID,
            metadata=context.metadata,
            idempotency_key=context.idempotency_key,
            fingerprint=context.fingerprint,
        )


def _outcome(rule_set: ScoringRuleSet) -> Outcome:
    body = ScoringRulesView.of(rule_set).model_dump_json().encode()
    return Outcome(rule_set.id, rule_set.version, body)
