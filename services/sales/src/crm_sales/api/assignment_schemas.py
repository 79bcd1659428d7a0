"""Request bodies of the assignment rules' routes."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, Field

from crm_sales.api.schemas import CountryCode, Team
from crm_sales.domain.assignment import Territory
from crm_shared.records.schemas import Reassign
from crm_shared.values import ShortText, Strict


def _known_country(code: str) -> str:
    # The regions the numbering plan knows are ISO 3166-1 alpha-2 codes (with XK, Kosovo's
    # user-assigned one): a typo such as "UK" would otherwise route no lead at all.
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{code} is not an ISO 3166-1 alpha-2 country code")
    return code


KnownCountry = Annotated[CountryCode, AfterValidator(_known_country)]


class TerritoryRule(Strict):
    team: Team
    countries: list[KnownCountry] = Field(default_factory=list, max_length=300)
    regions: list[ShortText] = Field(default_factory=list, max_length=100)

    def territory(self) -> Territory:
        return Territory(self.team, frozenset(self.countries), frozenset(self.regions))


class PutTerritories(Strict):
    territories: list[TerritoryRule] = Field(
        max_length=200,
        description="In order of precedence: the first covering a lead picks its team; one "
        "naming no country and no region covers every lead (a catch-all, put it last)",
    )


class PutRep(Strict):
    team: Team
    active: bool = Field(True, description="An inactive rep keeps their place but is skipped")


class ReassignLead(Reassign):
    """A manager's own choice of owner, department and, if given, team."""

    team: Team | None = Field(None, description="The lead's new team (left out: unchanged)")
