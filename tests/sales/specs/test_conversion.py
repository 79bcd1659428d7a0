"""Converting a lead: the contact (and the account) in the contacts service, the deal in
sales, ``LeadConverted`` with the three ids, exactly once whatever is retried; and the lead
erased with the contact it became (one person, one data subject).

The contacts service is stood in for by ``ContactsBook``, which keeps what it was asked
to create under the sales service's idempotency keys, whoever it acts for, and refuses a
key sent again with another request, as the real one does (its own behaviour is proven
over HTTP in tests/e2e/test_sales_conversion.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from crm_sales.application import SalesApplication
from crm_sales.commands import ChangeLead, EraseLead
from crm_sales.contact_links.links import batch_of
from crm_sales.conversion.contacts_client import (
    ContactsRefused,
    ContactsUnavailable,
    credential_for,
)
from crm_sales.conversion.use_case import (
    Conversion,
    LeadConversion,
    NewOpportunity,
    contact_of,
    opportunity_id_of,
)
from crm_sales.domain.lead import Lead, LeadErasedError, LeadStatus, LeadStatusRefused
from crm_sales.domain.opportunity import Opportunity
from crm_sales.domain.pipeline import NEW_BUSINESS
from crm_sales.domain.pipeline_record import stage_data
from crm_sales.lead_list.rows import fold
from crm_shared.auth.policy import CREATE_ONLY, Action, Scope, allows, may_create
from crm_shared.auth.principal import Principal, Role
from crm_shared.auth.tokens import verify_token
from crm_shared.catalog.contacts import ContactErased
from crm_shared.catalog.sales.leads import (
    LeadConverted,
    LeadDisqualified,
    LeadErased,
    LeadQualified,
    LeadRegistered,
)
from crm_shared.catalog.sales.opportunities import PipelineDefined
from crm_shared.commands import CommandContext
from crm_shared.domain import Forbidden
from crm_shared.events import EventData
from crm_shared.eventstore.group_commit import VersionMismatch
from crm_shared.projections.specs import received
from crm_shared.settings import Settings
from crm_shared.specs import Given, Specification
from tests.sales.specs.contact_records import NONE_KNOWN

spec = Specification(lambda store: SalesApplication(store, store, contacts=NONE_KNOWN))

REP = Principal("rita", Role.SALES_REP, ("sales",))
MANAGER = Principal("mia", Role.MANAGER, ("sales",))
GRACE, PIPELINE = uuid4(), uuid4()

GRACE_REGISTERED = LeadRegistered(
    first_name="Grace",
    last_name="Hopper",
    email="grace@example.com",
    phone="+14155550123",
    job_title="VP Engineering",
    company_name="Acme",
    industry="Manufacturing",
    owner="rita",
    department="sales",
)
NEW_BUSINESS_DEFINED = PipelineDefined(
    name="new_business",
    stages=[stage_data(stage) for stage in NEW_BUSINESS.stages],
    department="sales",
)
DEAL = NewOpportunity(
    name="Acme: 50 seats",
    pipeline_id=PIPELINE,
    currency="USD",
    close_date=date(2026, 12, 15),
    amount=Decimal("20000"),
)


class ContactsBook:
    """The contacts service as conversion sees it: a create under an idempotency key the
    sales service already used answers the first record, whoever the service acts for;
    the same key with another request is refused."""

    def __init__(self) -> None:
        self.created: dict[str, tuple[str, UUID, dict[str, Any]]] = {}
        self.down = False

    async def create(
        self,
        collection: str,
        body: dict[str, Any],
        *,
        acting_for: Principal,
        department: str,
        idempotency_key: str,
    ) -> UUID:
        if self.down:
            raise ContactsUnavailable("contacts: ConnectError")
        if idempotency_key not in self.created:
            self.created[idempotency_key] = (collection, uuid4(), body)
        _, record_id, first = self.created[idempotency_key]
        if body != first:
            raise ContactsRefused(422, "idempotency_key_reused", "another request's key")
        return record_id

    def of(self, collection: str) -> list[tuple[UUID, dict[str, Any]]]:
        return [(i, body) for c, i, body in self.created.values() if c == collection]


def qualified_grace(*more: EventData) -> Given[SalesApplication]:
    return spec.given(
        {GRACE: [GRACE_REGISTERED, LeadQualified(), *more], PIPELINE: [NEW_BUSINESS_DEFINED]}
    )


async def convert(
    given: Given[SalesApplication],
    contacts: ContactsBook,
    conversion: Conversion | None = None,
    by: Principal = REP,
) -> dict[str, Any]:
    outcome = await LeadConversion(given.application, contacts).convert(
        GRACE, conversion or Conversion(opportunity=DEAL), CommandContext.of(by)
    )
    view: dict[str, Any] = orjson.loads(outcome.body)
    return view


def recorded_types(given: Given[SalesApplication]) -> list[str]:
    return [type(e.data).__name__ for e in given.store.recorded]


async def test_a_conversion_creates_the_account_contact_and_deal_and_records_all_three() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    view = await convert(given, contacts)
    ((account_id, account),) = contacts.of("accounts")
    ((contact_id, contact),) = contacts.of("contacts")
    assert account == {
        "name": "Acme",
        "industry": "Manufacturing",
        "owner": "rita",
        "department": "sales",
    }
    assert contact["emails"] == [{"address": "grace@example.com", "primary": True}]
    assert contact["phones"] == [{"number": "+14155550123"}]
    assert contact["account_id"] == str(account_id) and contact["owner"] == "rita"
    assert (view["status"], view["contact_id"], view["account_id"]) == (
        "converted",
        str(contact_id),
        str(account_id),
    )
    assert view["opportunity_id"] == str(opportunity_id_of(GRACE))
    deal = given.application.load(Opportunity, opportunity_id_of(GRACE))
    assert (deal.lead_id, deal.primary_contact_id, deal.account_id) == (
        GRACE,
        contact_id,
        account_id,
    )
    assert deal.amount == Decimal("20000") and deal.stage == "prospecting"
    assert recorded_types(given)[-1] == "LeadConverted"


async def test_a_lead_without_a_company_or_asked_for_none_becomes_no_account() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    view = await convert(given, contacts, Conversion(create_account=False))
    assert contacts.of("accounts") == [] and view["account_id"] is None
    assert view["opportunity_id"] is None and view["contact_id"] is not None


async def test_a_retried_conversion_creates_nothing_twice_and_answers_the_same_links() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    first = await convert(given, contacts)
    again = await convert(given, contacts)
    assert {k: again[k] for k in ("contact_id", "account_id", "opportunity_id")} == {
        k: first[k] for k in ("contact_id", "account_id", "opportunity_id")
    }
    assert len(contacts.created) == 2
    assert recorded_types(given).count("OpportunityOpened") == 1
    assert recorded_types(given).count("LeadConverted") == 1


async def test_a_conversion_interrupted_after_the_deal_finishes_with_the_same_records() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    contacts.down = True
    with pytest.raises(ContactsUnavailable):
        await convert(given, contacts, Conversion(create_account=False, opportunity=DEAL))
    contacts.down = False
    # The first attempt got as far as the deal, then the process died.
    conversion = LeadConversion(given.application, contacts)
    lead = given.application.load(Lead, GRACE)
    contact = contact_of(lead, "rita", None)
    contact_id = await conversion._create(lead, "contacts", contact, REP)
    await conversion._open(lead, DEAL, "rita", None, contact_id, CommandContext.of(REP))

    view = await convert(given, contacts, Conversion(create_account=False, opportunity=DEAL))
    assert view["contact_id"] == str(contact_id)
    assert len(contacts.of("contacts")) == 1
    assert recorded_types(given).count("OpportunityOpened") == 1


async def test_a_disqualified_lead_is_refused_before_anything_is_created() -> None:
    given, contacts = qualified_grace(LeadDisqualified(reason="no budget")), ContactsBook()
    with pytest.raises(LeadStatusRefused):
        await convert(given, contacts)
    assert contacts.created == {} and given.store.recorded == []


async def test_the_contacts_service_down_creates_nothing_and_records_only_the_plan() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    contacts.down = True
    with pytest.raises(ContactsUnavailable):
        await convert(given, contacts)
    assert contacts.created == {}
    assert recorded_types(given) == ["LeadConversionStarted"]
    assert given.application.load(Lead, GRACE).status is LeadStatus.QUALIFIED


async def test_a_conversion_another_user_finishes_creates_what_the_first_one_planned() -> None:
    unowned = GRACE_REGISTERED.model_copy(update={"owner": None})
    given = spec.given({GRACE: [unowned, LeadQualified()], PIPELINE: [NEW_BUSINESS_DEFINED]})
    contacts, other_rep = ContactsBook(), Principal("raj", Role.SALES_REP, ("sales",))
    contacts.down = True
    with pytest.raises(ContactsUnavailable):
        # raj would own what the lead becomes, and asks for no account
        await convert(given, contacts, Conversion(create_account=False), by=other_rep)
    contacts.down = False
    # The first attempt created the contact, then its process died.
    conversion = LeadConversion(given.application, contacts)
    lead = given.application.load(Lead, GRACE)
    contact = contact_of(lead, "raj", None)
    contact_id = await conversion._create(lead, "contacts", contact, other_rep)

    view = await convert(given, contacts, Conversion(create_account=True), by=REP)
    assert view["contact_id"] == str(contact_id)
    assert [body["owner"] for _, body in contacts.of("contacts")] == ["raj"]
    assert contacts.of("accounts") == []  # as raj's attempt asked
    assert recorded_types(given).count("LeadConversionStarted") == 1


async def test_a_retry_carrying_the_if_match_of_the_attempt_that_began_is_accepted() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    read = given.application.load(Lead, GRACE).version
    contacts.down = True
    with pytest.raises(ContactsUnavailable):
        await LeadConversion(given.application, contacts).convert(
            GRACE, Conversion(), CommandContext.of(REP, expected_version=read)
        )
    contacts.down = False
    outcome = await LeadConversion(given.application, contacts).convert(
        GRACE, Conversion(), CommandContext.of(REP, expected_version=read)
    )
    assert orjson.loads(outcome.body)["status"] == "converted"


async def test_a_stale_if_match_refuses_a_conversion_before_anything_is_created() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    stale = given.application.load(Lead, GRACE).version - 1
    with pytest.raises(VersionMismatch):
        await LeadConversion(given.application, contacts).convert(
            GRACE, Conversion(), CommandContext.of(REP, expected_version=stale)
        )
    assert contacts.created == {} and given.store.recorded == []


async def test_a_manager_converting_a_reps_lead_gives_the_rep_what_it_becomes() -> None:
    given, contacts = qualified_grace(), ContactsBook()
    await convert(given, contacts, by=MANAGER)
    ((_, contact),) = contacts.of("contacts")
    assert contact["owner"] == "rita"
    assert given.application.load(Opportunity, opportunity_id_of(GRACE)).owner == "rita"


# --- the credential ------------------------------------------------------------------


def test_the_credential_acts_for_the_user_in_the_leads_department_and_only_creates() -> None:
    settings = Settings(embedded=True)
    user = Principal("rita", Role.SALES_REP, ("sales", "emea"))
    token = credential_for(settings, user, "sales")["Authorization"].removeprefix("Bearer ")
    acting = verify_token(settings, token)
    assert (acting.id, acting.role, acting.departments) == ("rita", Role.SALES_REP, ("sales",))
    assert acting.permissions == frozenset({CREATE_ONLY})
    assert may_create(acting, Scope("rita", "sales"))
    assert not may_create(acting, Scope("rita", "emea"))
    assert allows(acting, Action.READ, Scope("bob", "sales"))
    for action in (Action.CHANGE, Action.REASSIGN, Action.ERASE):
        assert not allows(acting, action, Scope("rita", "sales"))


# --- one data subject ----------------------------------------------------------------

CONTACT = uuid4()
CONVERTED = [GRACE_REGISTERED, LeadQualified(), LeadConverted(contact_id=CONTACT)]


async def test_erasing_a_converted_lead_records_the_erasure_with_its_contact() -> None:
    await (
        spec.given({GRACE: CONVERTED})
        .when(EraseLead(record_id=GRACE, contact_id=CONTACT), by=MANAGER)
        .then(LeadErased(contact_id=CONTACT))
    )


async def test_an_erasure_delivered_twice_records_nothing_the_second_time() -> None:
    await (
        spec.given({GRACE: [*CONVERTED, LeadErased(contact_id=CONTACT)]})
        .when(EraseLead(record_id=GRACE, contact_id=CONTACT), by=MANAGER)
        .then()
    )


async def test_an_erased_lead_reads_without_its_person_and_refuses_changes() -> None:
    given = spec.given({GRACE: [GRACE_REGISTERED, LeadErased(contact_id=CONTACT)]})
    view = orjson.loads(given.application.read(Lead, GRACE, MANAGER).body)
    assert (view["first_name"], view["email"], view["phone"], view["erased"]) == (
        None,
        None,
        None,
        True,
    )
    assert view["company_name"] == "Acme", "not personal: kept"
    await given.when(
        ChangeLead(record_id=GRACE, changes={"job_title": "CTO"}), by=MANAGER
    ).then_refused(LeadErasedError)


async def test_only_admins_and_managers_erase_a_lead() -> None:
    await (
        spec.given({GRACE: CONVERTED})
        .when(EraseLead(record_id=GRACE, contact_id=CONTACT), by=REP)
        .then_refused(Forbidden)
    )


def test_the_lead_list_drops_an_erased_leads_person() -> None:
    row = fold(None, received(GRACE_REGISTERED, aggregate_id=GRACE))
    assert row is not None and row.email == "grace@example.com"
    erased = fold(row, received(LeadErased(contact_id=CONTACT), aggregate_id=GRACE, version=2))
    assert erased is not None
    assert (erased.first_name, erased.last_name, erased.email, erased.name) == (
        None,
        None,
        None,
        "",
    )
    assert erased.company_name == "Acme"


def test_a_batch_tells_the_conversions_and_erasures_once_however_often_delivered() -> None:
    lead, contact = uuid4(), uuid4()
    converted = received(LeadConverted(contact_id=contact), aggregate_id=lead, version=3)
    erased = received(ContactErased(), aggregate_id=contact, version=5)
    batch = batch_of([converted, erased, converted, erased])
    assert batch.converted == {lead: contact} and batch.erased == {contact}
