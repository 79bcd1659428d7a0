"""A service's data-key client can be sent to another process (a rebuild's): it is made
again there from its settings, and never carries the keys it holds."""

from __future__ import annotations

import pickle
import uuid

import pytest

from crm_shared.privacy.key_client import DataKeyClient
from crm_shared.settings import Settings

SETTINGS = Settings(jwt_secret="s" * 40, service_urls={"contacts": "http://contacts:8101"})


async def test_a_services_client_is_made_again_from_its_settings_with_an_empty_cache() -> None:
    client = DataKeyClient.for_consumer(SETTINGS, "projections")
    client._keys[("contacts", uuid.uuid4())] = b"k" * 32  # a key it fetched

    copy = pickle.loads(pickle.dumps(client))

    assert isinstance(copy, DataKeyClient) and copy is not client
    assert copy._recipe == (SETTINGS, "projections")
    assert len(copy._keys) == 0
    assert copy._urls("contacts") == "http://contacts:8101"
    assert "Authorization" in copy._credentials()
    await client.close()
    await copy.close()


async def test_a_client_made_from_bare_functions_cannot_be_sent() -> None:
    client = DataKeyClient(lambda service: "http://x", lambda: {})

    with pytest.raises(TypeError, match="for_consumer"):
        pickle.dumps(client)
    await client.close()
