"""The contacts service's own commands; the ones every CRM record answers (archive,
restore, reassign, log an interaction, set a consent) are ``crm_shared.records.commands``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from crm_contacts.domain.account import Account
from crm_contacts.domain.contact import Contact
from crm_shared.auth.policy import Action
from crm_shared.records.commands import ChangeRecord, CreateRecord, RecordCommand


@dataclass(frozen=True, kw_only=True, repr=False)
class RegisterContact(CreateRecord[Contact]):
    record_type: type[Contact] = field(default=Contact, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeContact(ChangeRecord[Contact]):
    record_type: type[Contact] = field(default=Contact, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class CreateAccount(CreateRecord[Account]):
    record_type: type[Account] = field(default=Account, init=False)


@dataclass(frozen=True, kw_only=True, repr=False)
class ChangeAccount(ChangeRecord[Account]):
    record_type: type[Account] = field(default=Account, init=False)


@dataclass(frozen=True, kw_only=True)
class EraseContact(RecordCommand[Contact]):
    """Right to erasure: admins, and managers of the contact's department."""

    action: ClassVar[Action] = Action.ERASE

    record_type: type[Contact] = field(default=Contact, init=False)

    def apply(self, record: Contact) -> None:
        record.erase()
