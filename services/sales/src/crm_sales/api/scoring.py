"""/v1/scoring-rules: the rules leads are scored by, kept as events.

(No ``from __future__ import annotations``: FastAPI reads the annotations when the routes
are defined.)"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from crm_sales.api.scoring_schemas import PutScoringRules
from crm_sales.scoring.use_cases import ScoringRules
from crm_sales.scoring.views import ScoringRulesView
from crm_shared.catalog.sales.scoring_rules import ScoringRuleData
from crm_shared.http.commands import Changing
from crm_shared.http.conditional import outcome_response
from crm_shared.http.deps import CurrentPrincipal

DESCRIPTION = (
    "A lead scores the points of every rule that holds for it: job title words, company "
    "size bands and sources for who it is, and engagement for what it did (interactions "
    "logged with the contact it became, campaign responses and form submissions, as the "
    "contacts and marketing services' events tell). An engagement's points halve every "
    "`half_life_days` from when it happened; the sales service rescores a lead when the "
    "decay moves its score, and every lead when the rules change. Until a rule set is put, "
    "the defaults apply (version 0)."
)

RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON, or If-Match is not an ETag"},
    401: {"description": "Missing or invalid token"},
    403: {"description": "Only managers and admins put scoring rules"},
    409: {"description": "Changed concurrently: retry"},
    412: {"description": "If-Match is not the current version of the rule set"},
    422: {
        "description": "A rule that makes no sense (the error names it, e.g. "
        "`body.rules.2.half_life_days`)"
    },
}


async def scoring_rules(request: Request) -> ScoringRules:
    state = request.app.state
    if getattr(state, "scoring_rules", None) is None:
        sales = state.use_cases
        state.scoring_rules = ScoringRules(sales.rules_in_force, sales.committer)
    found: ScoringRules = state.scoring_rules
    return found


Rules = Annotated[ScoringRules, Depends(scoring_rules)]

router = APIRouter(prefix="/v1/scoring-rules", tags=["scoring rules"])


@router.get(
    "",
    summary="The lead scoring rules in force, and their version (its ETag)",
    description=DESCRIPTION,
    response_model=ScoringRulesView,
    responses=RESPONSES,
    operation_id="get_scoring_rules",
)
async def get_scoring_rules(rules: Rules, _: CurrentPrincipal) -> Response:
    return outcome_response(await rules.read(), 200)


@router.put(
    "",
    summary="Put the lead scoring rules (the whole set); every lead is rescored by them",
    description=DESCRIPTION,
    response_model=ScoringRulesView,
    responses=RESPONSES,
    operation_id="put_scoring_rules",
)
async def put_scoring_rules(body: PutScoringRules, rules: Rules, context: Changing) -> Response:
    data = [ScoringRuleData(**rule.model_dump()) for rule in body.rules]
    return outcome_response(await rules.put(data, context), 200)
