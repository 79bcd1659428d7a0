"""Opening sealed personal fields on the consuming side, with keys from their owners.

A consumer asks each owning service's key endpoint (``POST /v1/data-keys/lookup``) for the
keys of the people in a batch, in one request per service, and keeps them for a short
while. An erased person's values open as ``ERASED``; a value whose key the consumer cannot
get (no ``pii:read``, or a data subject the owner never heard of) stays the opaque sealed
string. If the key endpoint cannot be reached at all, the batch fails and is retried: a
read model never stores a placeholder where the owner would have given the value.

It opens event data as it travels (JSON, before it is validated into a typed event, see
``crm_shared.messaging.decoding``), knowing nothing of the catalog: each item names its
own personal fields.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple
from uuid import UUID

import httpx
from cachetools import TTLCache
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_shared.auth.principal import Role
from crm_shared.auth.tokens import issue_token
from crm_shared.privacy.cipher import ERASED, Erased, UnreadableValue, reveal, sealed_data_subjects
from crm_shared.settings import Settings

DataSubject = tuple[str, UUID]
# The most people one lookup may name (the key endpoint refuses more).
MAX_DATA_SUBJECTS = 1000


class SealedData(NamedTuple):
    """An event's data as it travels, and which of its fields are personal."""

    data: dict[str, Any]
    personal_fields: Iterable[str]


class Opened(NamedTuple):
    """An event's data with its sealed values opened where they could be."""

    data: dict[str, Any]
    # Every sealed value opened: none is left sealed (no key) or erased.
    complete: bool


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
                principal_id=f"service:{consumer}",
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
        self._keys: TTLCache[DataSubject, bytes] = TTLCache(maxsize=max_keys, ttl=cache_seconds)
        self._erased: set[DataSubject] = set()  # an erasure is final: remembered for good
        self._http = httpx.AsyncClient(timeout=timeout_seconds)

    @classmethod
    def for_consumer(cls, settings: Settings, consumer: str) -> DataKeyClient:
        client = cls(
            settings.url_of,
            service_credentials(settings, consumer),
            cache_seconds=settings.data_key_cache_seconds,
        )
        client._recipe = (settings, consumer)
        return client

    _recipe: tuple[Settings, str] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent to another process (a rebuild's), a service's client is made again there
        from its settings: with its own connections and an empty cache, never its keys."""
        if self._recipe is None:
            raise TypeError("only a client made by DataKeyClient.for_consumer can be sent")
        return (DataKeyClient.for_consumer, self._recipe)

    async def close(self) -> None:
        await self._http.aclose()

    async def reveal(self, batch: Sequence[SealedData]) -> list[Opened | UnreadableValue]:
        """Each item's data with its sealed values opened, with one key request per
        service for the whole batch: an erased person's values are ``ERASED`` (a custom
        field's is left out), a value without a key stays sealed. A value that does not
        open with its key (tampered) makes its item an ``UnreadableValue``: poison."""
        opened: list[Opened | UnreadableValue] = []
        wanted: list[set[DataSubject]] = []
        for data, personal in batch:
            try:
                data_subjects = sealed_data_subjects(data, personal)
            except UnreadableValue as error:
                data_subjects = set()
                opened.append(error)
            else:
                opened.append(Opened(data, complete=True))
            wanted.append(data_subjects)
        if not any(wanted):
            return opened
        found = await self.keys_for(set().union(*wanted))
        # One cipher per person for the batch: making one costs more than opening a value.
        keys = {s: AESGCM(k) if isinstance(k, bytes) else k for s, k in found.items()}
        for i, ((data, personal), data_subjects) in enumerate(zip(batch, wanted, strict=True)):
            if not data_subjects:
                continue
            try:
                complete = all(isinstance(keys.get(s), AESGCM) for s in data_subjects)
                opened[i] = Opened(reveal(data, personal, keys, erased=ERASED), complete)
            except UnreadableValue as error:
                opened[i] = error
        return opened

    async def keys_for(self, wanted: Iterable[DataSubject]) -> dict[DataSubject, bytes | Erased]:
        found: dict[DataSubject, bytes | Erased] = {}
        missing: dict[str, list[UUID]] = {}
        for data_subject in wanted:
            key = ERASED if data_subject in self._erased else self._keys.get(data_subject)
            if key is None:
                missing.setdefault(data_subject[0], []).append(data_subject[1])
            else:
                found[data_subject] = key
        for service, data_subjects in missing.items():
            for start in range(0, len(data_subjects), MAX_DATA_SUBJECTS):
                found.update(
                    await self._fetch(service, data_subjects[start : start + MAX_DATA_SUBJECTS])
                )
        return found

    async def _fetch(
        self, service: str, data_subjects: list[UUID]
    ) -> dict[DataSubject, bytes | Erased]:
        url = f"{self._urls(service)}/v1/data-keys/lookup"
        try:
            response = await self._http.post(
                url,
                json={"data_subjects": [str(s) for s in data_subjects]},
                headers=self._credentials(),
            )
        except httpx.HTTPError as error:
            raise KeyServiceUnavailable(f"{url}: {type(error).__name__}") from error
        if response.status_code in (401, 403):
            return {}  # no access: the values stay sealed, as placeholders
        if response.status_code != 200:
            raise KeyServiceUnavailable(f"{url} answered {response.status_code}")
        found: dict[DataSubject, bytes | Erased] = {}
        for entry in response.json()["keys"]:
            data_subject = (service, UUID(entry["data_subject"]))
            if entry["status"] == "active":
                found[data_subject] = self._keys[data_subject] = base64.b64decode(entry["key"])
            elif entry["status"] == "erased":
                found[data_subject] = ERASED
                self._erased.add(data_subject)
        return found
