"""Media types for GraphQL over HTTP: reading `Accept` and `Content-Type` headers.

Two response types exist: `application/graphql-response+json`, whose HTTP
status codes mean something (a request that never executed is a 4xx), and
legacy `application/json`, which is 200 for every well-formed request. The
client picks one through `Accept` (RFC 9110 content negotiation, q-values
and wildcards included); no `Accept` at all means the modern type, as the
GraphQL-over-HTTP spec asks since its 2025 watershed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

_TOKEN = r"[!#$%&'*+.^_`|~0-9a-z-]+"
_MEDIA_TYPE = re.compile(rf"({_TOKEN})/({_TOKEN})")
_UTF8 = frozenset({"utf-8", "utf8"})


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One entry of an `Accept` header: `type/subtype`, wildcards allowed."""

    type: str
    subtype: str
    q: float
    charset: str | None = None

    def specificity(self, media_type: str) -> int | None:
        """How closely this range names `media_type` (2 exactly, 1 `type/*`, 0 `*/*`),
        or None when it does not match it (a charset other than UTF-8 never does)."""
        if self.charset is not None and self.charset not in _UTF8:
            return None
        type_, subtype = media_type.split("/")
        if self.type == "*":
            return 0
        if self.type != type_:
            return None
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == subtype else None


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an `Accept` header; malformed entries are ignored."""
    ranges = []
    for entry in header.split(","):
        name, *params = entry.split(";")
        name = name.strip().lower()
        if name == "*":  # an old shorthand for */* some HTTP libraries still send
            name = "*/*"
        match = _MEDIA_TYPE.fullmatch(name)
        if match is None:
            continue
        q: float | None = 1.0
        charset = None
        for param in params:
            key, _, value = param.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"').lower()
            if key == "q":
                q = _quality(value)
            elif key == "charset":
                charset = value
        if q is not None:
            ranges.append(MediaRange(match[1], match[2], q, charset))
    return ranges


def _quality(value: str) -> float | None:
    try:
        q = float(value)
    except ValueError:
        return None
    return q if 0.0 <= q <= 1.0 else None


def quality(ranges: list[MediaRange], media_type: str) -> tuple[float, int]:
    """(q, specificity) that the most specific matching range gives `media_type`; q 0 if none."""
    best: tuple[int, float] | None = None
    for media_range in ranges:
        specificity = media_range.specificity(media_type)
        if specificity is not None and (best is None or specificity > best[0]):
            best = (specificity, media_range.q)
    return (0.0, -1) if best is None else (best[1], best[0])


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct headers; ~4 us saved
def response_media_type(accept: str | None) -> str | None:
    """The response type for an `Accept` header, or None when it allows neither (406).

    Highest q wins, then the type named most specifically. Named with equal
    weight, the modern type wins; reached only through a wildcard (`*/*`,
    `application/*`), `application/json` does: such a client did not ask for
    the modern type and may not know it (graphql-http's audit expects this).
    """
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges = parse_accept(accept)
    modern_q, modern_specificity = quality(ranges, GRAPHQL_RESPONSE_JSON)
    legacy_q, legacy_specificity = quality(ranges, JSON)
    if modern_q == 0.0 and legacy_q == 0.0:
        return None
    modern = (modern_q, modern_specificity, modern_specificity == 2)
    legacy = (legacy_q, legacy_specificity, legacy_specificity < 2)
    return GRAPHQL_RESPONSE_JSON if modern > legacy else JSON


def accepts_html(accept: str | None) -> bool:
    """Whether the client names `text/html` (browsers do; GraphiQL is served to them)."""
    if not accept:
        return False
    return any(r.type == "text" and r.subtype == "html" and r.q > 0 for r in parse_accept(accept))


def media_type_essence(content_type: str) -> str | None:
    """`type/subtype` of a `Content-Type`, lowercased, without parameters; None if unparseable."""
    essence = content_type.split(";", 1)[0].strip().lower()
    return essence if _MEDIA_TYPE.fullmatch(essence) else None


def content_charset(content_type: str) -> str | None:
    """The `charset` parameter of a `Content-Type`, lowercased, if any."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None
