"""What travels on the invalidation bus, and how it fits PostgreSQL's NOTIFY limit.

A message says: "whatever carries one of `tags` may predate `position`"
(the checkpoint the projector committed), or, with `everything`, that
nothing stamped below `position` may be served (storms, lost messages).
NOTIFY payloads must stay under 8000 bytes, so a large tag set is split into
several messages with the same position; the same split is harmless on Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson

CHANNEL = "vitrine_invalidations"
NOTIFY_LIMIT = 7900  # bytes; PostgreSQL's limit is 8000 with the default block size


@dataclass(frozen=True, slots=True)
class Invalidation:
    position: int
    tags: frozenset[str] = frozenset()
    everything: bool = False

    def encode(self) -> bytes:
        body: dict[str, object] = {"p": self.position, "t": sorted(self.tags)}
        if self.everything:
            body["a"] = True
        return orjson.dumps(body)

    @classmethod
    def decode(cls, raw: bytes | str) -> Invalidation:
        """The message encoded by `encode`; ValueError for anything else."""
        try:
            body = orjson.loads(raw)
            tags = body.get("t", [])
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ValueError("tags must be a list of strings")
            return cls(int(body["p"]), frozenset(tags), bool(body.get("a", False)))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an invalidation message: {raw[:80]!r}") from exc


def split(message: Invalidation, limit: int = NOTIFY_LIMIT) -> Iterator[Invalidation]:
    """`message` as messages whose encodings each fit in `limit` bytes."""
    if len(message.encode()) <= limit:
        yield message
        return
    overhead = len(Invalidation(message.position, everything=message.everything).encode())
    chunk: list[str] = []
    size = overhead
    for tag in sorted(message.tags):
        cost = len(orjson.dumps(tag)) + 1
        if overhead + cost > limit:
            raise ValueError(f"tag too long for one message: {tag[:80]!r}")
        if chunk and size + cost > limit:
            yield Invalidation(message.position, frozenset(chunk), message.everything)
            chunk, size = [], overhead
        chunk.append(tag)
        size += cost
    if chunk:
        yield Invalidation(message.position, frozenset(chunk), message.everything)
