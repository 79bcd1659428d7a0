"""Request bodies of the exchange rate and quota routes (read with ``exact_json``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from crm_shared.records.schemas import Department
from crm_shared.values import Number, Strict

CurrencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217")
]


class PutRate(Strict):
    rate: Number = Field(
        description="Corporate currency units per unit of the currency (> 0), as a JSON "
        "number or a string; read exactly, never through a float",
    )


class PutQuota(Strict):
    amount: Number = Field(description="The target, in the currency given (>= 0)")
    currency: CurrencyCode
    department: Department | None = Field(
        None, description="Left out: the quota's department, or else the caller's"
    )
