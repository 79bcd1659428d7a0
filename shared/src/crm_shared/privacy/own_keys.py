"""Opening a service's own sealed fields in its own read models, without asking itself.

A service that writes events holds its data keys (``DataKeyring``, in its event store's
schema). Its read models' consumers open the personal values of its own events with that
keyring directly, from the database the keys live in, and ask other services' key
endpoints (``DataKeyClient``) only for their people. Going through its own key endpoint
would cost an HTTP request to itself per batch (and an audit row recording that the
service read its own keys, which tells an auditor nothing: the service seals with them),
and would make a worker's read models wait until some worker of the service answers HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from crm_shared.privacy.cipher import Erased
from crm_shared.privacy.key_client import DataKeyClient, DataSubject
from crm_shared.privacy.keyring import DataKeyring


class OwnDataKeys(DataKeyClient):
    """A ``DataKeyClient`` that takes the service's own people's keys from its keyring."""

    def __init__(
        self,
        keyring: DataKeyring,
        urls: Callable[[str], str],
        credentials: Callable[[], dict[str, str]],
        *,
        cache_seconds: float = 60.0,
    ) -> None:
        super().__init__(urls, credentials, cache_seconds=cache_seconds)
        self.keyring = keyring

    async def keys_for(self, wanted: Iterable[DataSubject]) -> dict[DataSubject, bytes | Erased]:
        wanted = list(wanted)
        own = {s for s in wanted if s[0] == self.keyring.service}
        others = [s for s in wanted if s[0] != self.keyring.service]
        found = await super().keys_for(others) if others else {}
        if own:
            # The keyring reads from a worker thread, through the event store's own pool
            # (its cache answers most batches without the database). A person it has no
            # key for is left out, as the key endpoint's "unknown": the value stays sealed.
            found.update(await asyncio.to_thread(self.keyring.lookup, own))
        return found
