"""Opaque global ids (Relay convention): base64url of "<Type>:<source id>"."""

from __future__ import annotations

import base64
import binascii
import functools

from resolvers.errors import InvalidIdError

NODE_TYPES = frozenset(
    {"Product", "Store", "Category", "Collection", "Creator", "Promotion", "Post", "Insight"}
)


@functools.lru_cache(maxsize=65_536)
def encode_id(type_name: str, source_id: str) -> str:
    """Pure, and asked for the same hot products over and over: worth memoising."""
    raw = f"{type_name}:{source_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_id(global_id: str) -> tuple[str, str]:
    """(type name, source id) of a global id; InvalidIdError when it is not one of ours."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidIdError(f"{global_id!r} is not a valid id") from None
    type_name, sep, source_id = raw.partition(":")
    if not sep or type_name not in NODE_TYPES or not is_source_id(source_id):
        raise InvalidIdError(f"{global_id!r} is not a valid id")
    return type_name, source_id


MAX_SOURCE_ID_LENGTH = 200


def is_source_id(value: str) -> bool:
    """Could be a source system's id: 1 to 200 characters, none a control character
    (the database refuses NUL, events refuse longer ids)."""
    return 0 < len(value) <= MAX_SOURCE_ID_LENGTH and not any(
        ord(c) < 32 or ord(c) == 127 for c in value
    )


def decode_id_of(type_name: str, global_id: str, *, argument: str) -> str:
    """The source id of a global id that must name a `type_name`."""
    found, source_id = decode_id(global_id)
    if found != type_name:
        raise InvalidIdError(
            f"{argument}: expected the id of a {type_name}, got the id of a {found}",
            argument=argument,
        )
    return source_id
