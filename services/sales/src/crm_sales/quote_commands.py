"""The sales service's commands on quotes. Each carries the day it is done (the route's
today, in UTC), so the aggregate reads no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from crm_sales.domain.quote import Quote
from crm_shared.records.commands import ChangeRecord, CreateRecord, RecordCommand


@dataclass(frozen=True, kw_only=True, repr=False)
class DraftQuote(CreateRecord[Quote]):
    """A quote of the opportunity its values name (``opportunity_id``); the use cases
    copy the deal's lines and number it."""

    record_type: type[Quote] = field(default=Quote, init=False)
    today: date


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeQuote(ChangeRecord[Quote]):
    record_type: type[Quote] = field(default=Quote, init=False)
    today: date

    def apply(self, record: Quote) -> None:
        record.change(self.changes, self.today)


@dataclass(frozen=True, kw_only=True)
class SendQuote(RecordCommand[Quote]):
    record_type: type[Quote] = field(default=Quote, init=False)
    today: date

    def apply(self, record: Quote) -> None:
        record.send(self.today)


@dataclass(frozen=True, kw_only=True)
class AcceptQuote(RecordCommand[Quote]):
    record_type: type[Quote] = field(default=Quote, init=False)
    today: date

    def apply(self, record: Quote) -> None:
        record.accept(self.today)


@dataclass(frozen=True, kw_only=True)
class RejectQuote(RecordCommand[Quote]):
    record_type: type[Quote] = field(default=Quote, init=False)
    # What a customer said: kept out of the command's description (and so of the logs).
    reason: str = field(repr=False)
    today: date

    def apply(self, record: Quote) -> None:
        record.reject(self.reason, self.today)
