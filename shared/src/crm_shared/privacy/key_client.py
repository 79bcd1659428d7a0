"""Opening sealed personal fields on the consuming side, with keys from their owners.

A consumer asks each owning service's key endpoint (``POST /v1/data-keys/lookup``) for the
keys of the people in a batch, in one request per service, and keeps them for a short
while. An erased person's values read as null; a value whose key the consumer cannot get
(no ``pii:read``, or a subject the owner never heard of) stays the opaque sealed string.
If the key endpoint cannot be reached at all, the batch fails and is retried: a read
model never stores a placeholder where the owner would have given the value.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

import httpx
from cachetools import TTLCache

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.catalog import CATALOG
from crm_shared.messaging.cloudevents import ReceivedEvent
from crm_shared.privacy.cipher import ERASED, Erased, UnreadableValue, reveal, sealed_subjects
from crm_shared.privacy.endpoint import MAX_SUBJECTS
from crm_shared.settings import Settings

Subject = tuple[str, UUID]


class KeyServiceUnavailable(Exception):
    """The owning service's key endpoint did not answer usefully: try the batch again."""


def service_credentials(settings: Settings, consumer: str) -> Callable[[], dict[str, str]]:
    """Headers for a service's own consumers: the configured ``pii:read`` API key, or a
    short-lived token it signs itself (no departments: it can read no record, only keys)."""
    if settings.pii_api_key is not None:
        api_key = {"X-API-Key": settings.pii_api_key.get_secret_value()}
        return lambda: api_key
    ttl = 3600
    current: dict[str, Any] = {"token": None, "renew_at": 0.0}

    def headers() -> dict[str, str]:
        if time.monotonic() >= current["renew_at"]:
            current["token"] = issue_token(
                settings,
                subject=f"service:{consumer}",
                role=Role.SERVICE_AGENT,
                departments=[],
                permissions=["pii:read"],
                ttl_seconds=ttl,
            )
            current["renew_at"] = time.monotonic() + ttl / 2
        return {"Authorization": f"Bearer {current['token']}"}

    return headers


class DataKeyClient:
    def __init__(
        self,
        urls: Callable[[str], str],
        credentials: Callable[[], dict[str, str]],
        *,
        cache_seconds: float = 60.0,
        max_keys: int = 50_000,  # about 12 MB: a rebuild's working set
        timeout_seconds: float = 10.0,
    ) -> None:
        self._urls = urls
        self._credentials = credentials
        self._keys: TTLCache[Subject, bytes] = TTLCache(maxsize=max_keys, ttl=cache_seconds)
        self._erased: set[Subject] = set()  # an erasure is final: remembered for good
        self._http = httpx.AsyncClient(timeout=timeout_seconds)

    @classmethod
    def for_consumer(cls, settings: Settings, consumer: str) -> DataKeyClient:
        return cls(
            settings.url_of,
            service_credentials(settings, consumer),
            cache_seconds=settings.data_key_cache_seconds,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def reveal(
        self, events: Sequence[ReceivedEvent]
    ) -> list[tuple[ReceivedEvent, UnreadableValue]]:
        """Opens the sealed values of a batch in place (one key request per service).
        Returns the events holding a value that does not open (tampered): poison."""
        unreadable: list[tuple[ReceivedEvent, UnreadableValue]] = []
        sealed = []
        for event in events:
            model = CATALOG.by_type.get(event.type)
            if model is None:
                continue  # a type this build does not know: its values stay sealed
            personal = model.personal_fields()
            try:
                subjects = sealed_subjects(event.data, personal)
            except UnreadableValue as error:
                unreadable.append((event, error))
                continue
            if subjects:
                sealed.append((event, personal, subjects))
        if not sealed:
            return unreadable
        keys = await self.keys_for(set().union(*(subjects for _, _, subjects in sealed)))
        for event, personal, _ in sealed:
            try:
                event.data = reveal(event.data, personal, keys, erased=None)
            except UnreadableValue as error:
                unreadable.append((event, error))
        return unreadable

    async def keys_for(self, wanted: Iterable[Subject]) -> dict[Subject, bytes | Erased]:
        found: dict[Subject, bytes | Erased] = {}
        missing: dict[str, list[UUID]] = {}
        for subject in wanted:
            key = ERASED if subject in self._erased else self._keys.get(subject)
            if key is None:
                missing.setdefault(subject[0], []).append(subject[1])
            else:
                found[subject] = key
        for service, subjects in missing.items():
            for start in range(0, len(subjects), MAX_SUBJECTS):
                found.update(await self._fetch(service, subjects[start : start + MAX_SUBJECTS]))
        return found

    async def _fetch(self, service: str, subjects: list[UUID]) -> dict[Subject, bytes | Erased]:
        url = f"{self._urls(service)}/v1/data-keys/lookup"
        try:
            response = await self._http.post(
                url, json={"subjects": [str(s) for s in subjects]}, headers=self._credentials()
            )
        except httpx.HTTPError as error:
            raise KeyServiceUnavailable(f"{url}: {type(error).__name__}") from error
        if response.status_code in (401, 403):
            return {}  # no access: the values stay sealed, as placeholders
        if response.status_code != 200:
            raise KeyServiceUnavailable(f"{url} answered {response.status_code}")
        found: dict[Subject, bytes | Erased] = {}
        for entry in response.json()["keys"]:
            subject = (service, UUID(entry["subject"]))
            if entry["status"] == "active":
                found[subject] = self._keys[subject] = base64.b64decode(entry["key"])
            elif entry["status"] == "erased":
                found[subject] = ERASED
                self._erased.add(subject)
        return found
