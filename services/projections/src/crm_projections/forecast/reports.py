"""The forecast's reports as documents (JSON) and as tables (CSV, XLSX), from the sales
domain's results. Amounts and percentages are decimal strings, never floats."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crm_sales.domain.forecast import Forecast, ForecastLine
from crm_sales.domain.forecast_changes import ForecastChanges
from crm_sales.domain.funnel import Funnel
from crm_sales.domain.money import Money
from crm_sales.domain.opportunity_states import OpportunityState

Cell = str | int | None


@dataclass(frozen=True, slots=True)
class Table:
    """A report as rows under a header, what a spreadsheet or a CSV file holds."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _amount(money: Money | None) -> str | None:
    return None if money is None else str(money.amount)


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


LINE_FIELDS = (
    "group",
    "closed",
    "commit_forecast",
    "best_case_forecast",
    "open_pipeline",
    "weighted_pipeline",
    "open_count",
    "won_count",
    "lost_count",
    "won_amount",
    "lost_amount",
    "win_rate_by_count",
    "win_rate_by_amount",
    "average_sales_cycle_days",
    "quota",
    "attainment",
    "gap_to_quota",
)


def _line(line: ForecastLine) -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    for name in LINE_FIELDS:
        value = getattr(line, name)
        match value:
            case Money():
                cells[name] = _amount(value)
            case Decimal():
                cells[name] = _number(value)
            case _:
                cells[name] = value
    return cells


def forecast_document(report: Forecast) -> dict[str, Any]:
    return {
        "period": report.period.label,
        "group_by": str(report.group_by),
        "currency": report.currency,
        "as_of": report.as_of.isoformat(),
        "lines": [_line(line) for line in report.lines],
        "total": _line(report.total),
    }


def forecast_table(report: Forecast) -> Table:
    lines = (*report.lines, report.total)
    return Table(
        title=f"Forecast {report.period.label} by {report.group_by} in {report.currency}"
        f" as of {report.as_of.isoformat()}",
        header=LINE_FIELDS,
        rows=tuple(tuple(_line(line).values()) for line in lines),
    )


def _deal(state: OpportunityState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "owner": state.owner,
        "team": state.team,
        "pipeline": state.pipeline,
        "stage": state.stage,
        "amount": str(state.amount.amount),
        "currency": state.amount.currency,
        "close_date": state.close_date.isoformat(),
        "probability": state.probability,
        "forecast_category": str(state.category),
        "status": str(state.status),
    }


def changes_document(report: ForecastChanges) -> dict[str, Any]:
    return {
        "period": report.period.label,
        "from": report.from_.isoformat(),
        "to": report.to.isoformat(),
        "currency": report.currency,
        "deals": [
            {
                "opportunity_id": deal.opportunity_id,
                "before": _deal(deal.before),
                "after": _deal(deal.after),
                "changes": [
                    {"kind": str(c.kind), "effect": _amount(c.effect), "detail": c.detail}
                    for c in deal.changes
                ],
            }
            for deal in report.deals
        ],
        "totals": [
            {"kind": str(t.kind), "deals": t.deals, "effect": _amount(t.effect)}
            for t in report.totals
        ],
    }


def changes_table(report: ForecastChanges) -> Table:
    rows: list[tuple[Cell, ...]] = [
        (deal.opportunity_id, str(c.kind), _amount(c.effect), c.detail, None)
        for deal in report.deals
        for c in deal.changes
    ]
    rows += [("total", str(t.kind), _amount(t.effect), "", t.deals) for t in report.totals]
    return Table(
        title=f"Forecast changes {report.period.label} in {report.currency},"
        f" {report.from_.isoformat()} to {report.to.isoformat()}",
        header=("opportunity_id", "kind", "effect", "detail", "deals"),
        rows=tuple(rows),
    )


def funnel_document(report: Funnel) -> dict[str, Any]:
    return {
        "pipeline": report.pipeline,
        "period": report.period.label,
        "deals": report.deals,
        "steps": [
            {
                "stage": step.stage,
                "reached": step.reached,
                "converted_to_next": _number(step.converted_to_next),
                "median_days_in_stage": _number(step.median_days_in_stage),
            }
            for step in report.steps
        ],
    }


def funnel_table(report: Funnel) -> Table:
    return Table(
        title=f"Funnel of {report.pipeline}, deals created in {report.period.label}",
        header=("stage", "reached", "converted_to_next", "median_days_in_stage"),
        rows=tuple(
            (
                step.stage,
                step.reached,
                _number(step.converted_to_next),
                _number(step.median_days_in_stage),
            )
            for step in report.steps
        ),
    )
