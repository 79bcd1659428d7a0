"""Page cursors come back from the client: anything but one this API made is refused."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest

from crm_shared.projections.paging import InvalidCursor, decode_cursor, encode_cursor

ID = str(uuid.uuid4())


def raw(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def forged(values: list[object]) -> str:
    """A cursor of the API's form holding what a client made up."""
    return raw(orjson.dumps(values))


MALFORMED = {
    "empty JSON": raw(b""),
    "not base64": "!!!!",
    "non-ASCII": "é€𝄞",
    "NUL": "\x00",
    "NUL in base64": "WyJh\x00IiwgIm",
    "garbage bytes": raw(b"\xff\xfe\x00\x01garbage"),
    "not JSON": raw(b"hello world"),
    "object": raw(b'{"key": "a", "id": "b"}'),
    "number": raw(b"42"),
    "float": raw(b"1e400"),
    "boolean": raw(b"true"),
    "null": raw(b"null"),
    "string": raw(b'"a"'),
    "empty array": raw(b"[]"),
    "one value": raw(b'["2024-01-01"]'),
    "three values": raw(f'["a", "{ID}", "c"]'.encode()),
    "number key": forged([1, ID]),
    "boolean key": forged([True, ID]),
    "null key": forged([None, ID]),
    "object key": forged([{"$gt": ""}, ID]),
    "array key": forged([["a"], ID]),
    "NUL in key": forged(["a\x00b", ID]),
    "number id": forged(["a", 7]),
    "object id": forged(["a", {"id": ID}]),
    "array id": forged(["a", [ID]]),
    "id not an id": forged(["a", "not-a-uuid"]),
    "NUL in id": forged(["a", ID + "\x00"]),
    "nested arrays": forged([[[[[]]]], ID]),
}


@pytest.mark.parametrize("cursor", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_cursor_this_api_did_not_make_is_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


def test_a_cursor_this_api_made_reads_back_as_key_and_id() -> None:
    key = "2024-05-01 10:00:00.123+00"
    assert decode_cursor(encode_cursor(key, ID)) == (key, uuid.UUID(ID))
