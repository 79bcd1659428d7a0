"""The context a command runs in: who asks, on which version of the record, under which
retry key. Built from a request by ``crm_shared.http.commands``, or by a specification."""

from __future__ import annotations

from dataclasses import dataclass

from crm_shared.auth.caller import Caller
from crm_shared.auth.principal import Principal
from crm_shared.events import EventMetadata


@dataclass(frozen=True, slots=True)
class CommandContext:
    caller: Caller
    # The version the caller last read (If-Match): another one refuses the command.
    expected_version: int | None = None
    # A retry with the same key answers the first outcome and writes nothing; the
    # fingerprint tells a retry from another request under the same key.
    idempotency_key: str | None = None
    fingerprint: str = ""

    @property
    def principal(self) -> Principal:
        return self.caller.principal

    @property
    def metadata(self) -> EventMetadata:
        return self.caller.metadata

    @classmethod
    def of(cls, principal: Principal, expected_version: int | None = None) -> CommandContext:
        """The context of a command outside any request (a script, a specification)."""
        return cls(Caller(principal, EventMetadata(actor=principal.actor)), expected_version)
