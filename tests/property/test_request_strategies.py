"""The strategies the end-to-end properties draw from make valid commands only, so a
refusal there would be a finding, not noise."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from crm_contacts.api.schemas import (
    Archive,
    CreateAccount,
    LogInteraction,
    Reassign,
    RegisterContact,
    SetConsent,
    UpdateAccount,
    UpdateContact,
)
from tests.property import strategies
from tests.property.strategies import ACCOUNT

MODELS: dict[type[BaseModel], st.SearchStrategy[dict[str, Any]]] = {
    RegisterContact: strategies.REGISTER_CONTACT,
    UpdateContact: strategies.UPDATE_CONTACT,
    CreateAccount: strategies.CREATE_ACCOUNT,
    UpdateAccount: strategies.UPDATE_ACCOUNT,
    LogInteraction: strategies.LOG_INTERACTION | strategies.LOG_TIMED_INTERACTION,
    SetConsent: strategies.SET_CONSENT,
    Archive: strategies.ARCHIVE,
    Reassign: strategies.REASSIGN,
}


def _as_sent(body: dict[str, Any]) -> Any:
    """Through JSON, as a client sends it, with the account standing in for its id."""
    text = json.dumps(body).replace(ACCOUNT, "0b7e0f43-5b1c-4d0a-9a57-3c1f3f1d2e5a")
    return json.loads(text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(MODELS)).flatmap(lambda m: st.tuples(st.just(m), MODELS[m])))
def test_every_drawn_body_is_a_valid_request(drawn: tuple[type[BaseModel], dict[str, Any]]) -> None:
    model, body = drawn
    model.model_validate(_as_sent(body))
