"""Opportunity and pipeline events of the sales service (topic ``crm.sales.events``).

An opportunity is a deal moving through a pipeline's stages. Its events carry the deal's
forecast fields as they became (probability, forecast category, amount in its own
currency), not only what a rep asked for, so a read model (the pipeline forecast) folds
them without knowing the pipelines or the rules that set them. Amounts are ``Decimal``
(JSON strings), never floats; a currency is an ISO 4217 code. A stage change's time is
its event's time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.events.catalog import EventData, event_type
from crm_shared.records.events import ArchivedData, Changes, ReassignedData

FORECAST_CATEGORY = "pipeline, best_case, commit, closed or omitted"

# --- pipeline (the ordered stages deals move through) --------------------------------


class StageData(BaseModel):
    """One stage of a pipeline, in order: its default win probability and forecast
    category, and for the last two, the outcome they mean (won, lost)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    probability: int = Field(description="Default win probability, percent (0-100)")
    forecast_category: str = Field(description=FORECAST_CATEGORY)
    outcome: str | None = Field(None, description="won or lost for a closed stage, else null")


_STAGES_EXAMPLE = [
    {"name": "prospecting", "probability": 10, "forecast_category": "pipeline", "outcome": None},
    {"name": "proposal", "probability": 50, "forecast_category": "best_case", "outcome": None},
    {"name": "negotiation", "probability": 80, "forecast_category": "commit", "outcome": None},
    {"name": "closed_won", "probability": 100, "forecast_category": "closed", "outcome": "won"},
    {"name": "closed_lost", "probability": 0, "forecast_category": "omitted", "outcome": "lost"},
]


@event_type("sales", "pipeline", "defined")
class PipelineDefined(EventData):
    name: str = Field(description="Unique among the pipelines, e.g. new_business, renewals")
    stages: list[StageData]
    department: str
    example = {"name": "new_business", "stages": _STAGES_EXAMPLE, "department": "sales"}


@event_type("sales", "pipeline", "changed")
class PipelineChanged(Changes):
    """Renamed, or its stages redefined (deals keep their stage's name)."""

    name: str | None = None
    stages: list[StageData] | None = None
    example = {"stages": _STAGES_EXAMPLE}


@event_type("sales", "pipeline", "archived")
class PipelineArchived(ArchivedData):
    """No new deal opens in it; its deals stay where they are."""

    example = {"reason": "merged into new_business"}


# --- opportunity (a deal) --------------------------------------------------------------


class ContactRole(BaseModel):
    """A contact's part in the deal (decision maker, champion, economic buyer...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: UUID
    role: str


class LineItem(BaseModel):
    """What is sold: quantity times unit price, less a discount, in the deal's currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: UUID
    product_id: UUID | None = Field(None, description="The catalog product, if any")
    name: str
    quantity: Decimal
    unit_price: Decimal = Field(description="In the opportunity's currency")
    discount_percent: Decimal = Field(Decimal(0), description="0-100")


_LINE_EXAMPLE = {
    "line_id": "5c2e8f1a-3b4d-4c6e-9f8a-7b6c5d4e3f2a",
    "product_id": "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "name": "CRM seats (annual)",
    "quantity": "50",
    "unit_price": "480.00",
    "discount_percent": "10",
}


@event_type("sales", "opportunity", "opened")
class OpportunityOpened(EventData):
    """A new deal, at its pipeline's first stage unless another open stage was named."""

    name: str
    account_id: UUID | None = Field(None, description="The account (contacts service)")
    primary_contact_id: UUID | None = Field(None, description="The contact (contacts service)")
    contact_roles: list[ContactRole] = Field(default_factory=list)
    lead_id: UUID | None = Field(None, description="The lead it was converted from")
    pipeline_id: UUID
    pipeline: str = Field(description="The pipeline's name when the deal opened")
    stage: str
    amount: Decimal = Field(description="The deal's value, in its currency")
    currency: str = Field(description="ISO 4217")
    close_date: date = Field(description="When the deal is expected to close")
    probability: int = Field(description="Win probability, percent (0-100)")
    forecast_category: str = Field(description=FORECAST_CATEGORY)
    probability_by_hand: bool = Field(False, description="Set by a rep: stage changes keep it")
    forecast_category_by_hand: bool = Field(
        False, description="Set by a rep: stage changes keep it"
    )
    line_items: list[LineItem] = Field(default_factory=list)
    next_step: str | None = None
    team: str | None = None
    owner: str | None = None
    department: str
    example = {
        "name": "Acme: 50 seats",
        "account_id": "2b9c3a7e-1d2f-4e5a-8b6c-7d8e9f0a1b2c",
        "primary_contact_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00",
        "contact_roles": [
            {"contact_id": "6f1c2b1e-7f0d-4f5c-9c0e-2a4d8b1e9f00", "role": "decision maker"}
        ],
        "lead_id": None,
        "pipeline_id": "1e2d3c4b-5a69-4788-9a6b-5c4d3e2f1a0b",
        "pipeline": "new_business",
        "stage": "prospecting",
        "amount": "21600.00",
        "currency": "EUR",
        "close_date": "2026-12-15",
        "probability": 10,
        "forecast_category": "pipeline",
        "probability_by_hand": False,
        "forecast_category_by_hand": False,
        "line_items": [_LINE_EXAMPLE],
        "next_step": "demo on Thursday",
        "team": "enterprise",
        "owner": "alice",
        "department": "sales",
    }


@event_type("sales", "opportunity", "changed")
class OpportunityChanged(Changes):
    """Some of the deal's fields: only those changed are present, null clears one. When the
    line items change, the amount present is their new total."""

    name: str | None = None
    account_id: UUID | None = None
    primary_contact_id: UUID | None = None
    contact_roles: list[ContactRole] | None = None
    amount: Decimal | None = Field(None, description="The deal's value, in its currency")
    currency: str | None = Field(None, description="ISO 4217")
    close_date: date | None = Field(None, description="When the deal is expected to close")
    line_items: list[LineItem] | None = None
    next_step: str | None = None
    team: str | None = None
    example = {"amount": "24000.00", "close_date": "2027-01-20", "next_step": None}


@event_type("sales", "opportunity", "forecast_set")
class OpportunityForecastSet(EventData):
    """A rep set (or cleared back to the stage's default) the deal's probability or
    forecast category: the deal's forecast fields as they now are."""

    probability: int = Field(description="Win probability, percent (0-100)")
    forecast_category: str = Field(description=FORECAST_CATEGORY)
    probability_by_hand: bool
    forecast_category_by_hand: bool
    example = {
        "probability": 65,
        "forecast_category": "commit",
        "probability_by_hand": True,
        "forecast_category_by_hand": True,
    }


@event_type("sales", "opportunity", "stage_changed")
class OpportunityStageChanged(EventData):
    """The deal moved to another open stage; its forecast fields as the move left them
    (a value set by hand is kept)."""

    from_stage: str
    stage: str
    probability: int = Field(description="Win probability, percent (0-100)")
    forecast_category: str = Field(description=FORECAST_CATEGORY)
    example = {
        "from_stage": "prospecting",
        "stage": "proposal",
        "probability": 50,
        "forecast_category": "best_case",
    }


@event_type("sales", "opportunity", "won")
class OpportunityWon(EventData):
    """Closed as won: 100 % and ``closed``; its amount is the deal's final value."""

    from_stage: str
    stage: str = Field(description="The pipeline's won stage")
    amount: Decimal
    currency: str = Field(description="ISO 4217")
    closed_on: date = Field(description="The close date: revenue counts in its period")
    example = {
        "from_stage": "negotiation",
        "stage": "closed_won",
        "amount": "21600.00",
        "currency": "EUR",
        "closed_on": "2026-12-11",
    }


@event_type("sales", "opportunity", "lost")
class OpportunityLost(EventData):
    """Closed as lost: 0 % and ``omitted``, with the reason."""

    from_stage: str
    stage: str = Field(description="The pipeline's lost stage")
    reason: str
    closed_on: date
    example = {
        "from_stage": "proposal",
        "stage": "closed_lost",
        "reason": "chose a competitor",
        "closed_on": "2026-12-02",
    }


@event_type("sales", "opportunity", "reassigned")
class OpportunityReassigned(ReassignedData):
    example = {"owner": "bob", "department": "sales"}
