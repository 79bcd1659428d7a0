"""Wrapping data keys with a master key, so the key table alone opens nothing.

``KeyWrapper`` is the whole interface a cloud KMS would implement (wrap, unwrap, and an id
naming the master key so keys wrapped by an older one can still be told apart after a
rotation). ``MasterKey`` implements it with AES key wrap (RFC 3394) and a 256-bit key
from settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap


class KeyWrapper(Protocol):
    key_id: str

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


class InvalidMasterKey(ValueError):
    """The configured master key is not 32 bytes of base64, or does not fit the key table."""


class MasterKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise InvalidMasterKey("the master key must be 32 bytes (256 bits)")
        self._key = key
        # Names the key without revealing it: stored beside each wrapped key.
        self.key_id = "local:" + hashlib.sha256(b"crm-master-key-id" + key).hexdigest()[:16]

    @classmethod
    def from_base64(cls, text: str) -> MasterKey:
        try:
            return cls(base64.b64decode(text, validate=True))
        except binascii.Error:
            raise InvalidMasterKey("the master key must be base64") from None

    def wrap(self, data_key: bytes) -> bytes:
        return aes_key_wrap(self._key, data_key)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self._key, wrapped)
        except InvalidUnwrap:
            raise InvalidMasterKey("a data key does not unwrap with the master key") from None
