"""One cached answer: the serialized `data`, its tags, and when and from what it was made.

`stamp` is the read-model position every projection had reached when the
request that computed it began (a lower bound on what it read): an
invalidation at a position above the stamp may postdate the data, so the
entry is dropped (see `tag_clock`). `created_at` is wall-clock time so that
every process agrees on an entry's age in the shared level. `actual_cost` is
the answer's actual cost (`extensions.cost`), kept so that a hit reports it
without reading the data; None for entries stored before it was kept.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import Enum

import orjson

from infra.response_cache.policy import Scope

# Per-entry bookkeeping beyond the body and tags (object headers, index slots),
# counted so that many tiny entries cannot exceed the memory budget unnoticed.
ENTRY_OVERHEAD = 256


class Freshness(Enum):
    FRESH = "fresh"
    STALE = "stale"  # past max-age, inside stale-while-revalidate: serve, then refresh
    EXPIRED = "expired"


def weak_etag(data: bytes) -> str:
    """A weak validator of the data: the body around it (extensions) may differ per response."""
    digest = hashlib.blake2b(data, digest_size=16).digest()
    return 'W/"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


@dataclass(frozen=True, slots=True)
class CachedResponse:
    data: bytes
    tags: frozenset[str]
    stamp: int
    created_at: float
    max_age: int
    stale_for: int
    scope: Scope
    etag: str
    actual_cost: int | None = None
    size: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        size = len(self.data) + sum(len(tag) + 60 for tag in self.tags) + ENTRY_OVERHEAD
        object.__setattr__(self, "size", size)

    @classmethod
    def build(
        cls,
        data: bytes,
        tags: frozenset[str],
        *,
        stamp: int,
        created_at: float,
        max_age: int,
        stale_for: int,
        scope: Scope,
        actual_cost: int | None = None,
    ) -> CachedResponse:
        return cls(
            data, tags, stamp, created_at, max_age, stale_for, scope, weak_etag(data), actual_cost
        )

    @property
    def lifetime(self) -> int:
        """Seconds from creation until the entry may no longer be served at all."""
        return self.max_age + self.stale_for

    def age(self, now: float) -> float:
        return max(now - self.created_at, 0.0)

    def freshness(self, now: float) -> Freshness:
        age = now - self.created_at
        if age < self.max_age:
            return Freshness.FRESH
        if age < self.lifetime:
            return Freshness.STALE
        return Freshness.EXPIRED

    def encode(self) -> bytes:
        fields = {
            "t": sorted(self.tags),
            "s": self.stamp,
            "c": self.created_at,
            "m": self.max_age,
            "w": self.stale_for,
            "p": self.scope.value,
            "e": self.etag,
        }
        if self.actual_cost is not None:
            fields["a"] = self.actual_cost
        return orjson.dumps(fields) + b"\n" + self.data

    @classmethod
    def decode(cls, raw: bytes) -> CachedResponse:
        """The entry encoded by `encode`; ValueError for anything else."""
        header, separator, data = raw.partition(b"\n")
        if not separator:
            raise ValueError("not a cached response")
        try:
            h = orjson.loads(header)
            return cls(
                data,
                frozenset(h["t"]),
                int(h["s"]),
                float(h["c"]),
                int(h["m"]),
                int(h["w"]),
                Scope(h["p"]),
                str(h["e"]),
                None if h.get("a") is None else int(h["a"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError("not a cached response") from exc
