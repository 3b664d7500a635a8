"""HTTP caching headers for GraphQL responses: Cache-Control, ETag, surrogate keys.

Pure functions of a response's cache policy and tags. PUBLIC answers say
`public, max-age, stale-while-revalidate` so a CDN may keep and share them;
PRIVATE ones say `private, max-age` (the browser only); anything not
cacheable says `no-store`. Validators are weak ETags (the data is the same,
the `extensions` around it may differ per response), compared weakly as RFC
9110 says for If-None-Match. Tags go out twice, space-separated in
`Surrogate-Key` (Fastly, Varnish/xkey, Akamai) and comma-separated in
`Cache-Tag` (Cloudflare), so a CDN can purge by tag; a tag list too long
for a header (16 KB) cannot be purged reliably, so such a response is only
cached privately.
"""

from __future__ import annotations

from collections.abc import Iterable

NO_STORE = "no-store"
TAG_HEADER_LIMIT = 16_000


def public_cache_control(max_age: int, stale_while_revalidate: int) -> str:
    return f"public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}"


def private_cache_control(max_age: int) -> str:
    return f"private, max-age={max_age}"


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header matches `etag` (weak comparison; `*` matches)."""
    if not if_none_match:
        return False
    wanted = _opaque(etag)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or _opaque(candidate) == wanted:
            return True
    return False


def tag_headers(tags: Iterable[str]) -> dict[str, str] | None:
    """`Surrogate-Key` and `Cache-Tag` for `tags`; None when they would not fit a header."""
    ordered = sorted(tags)
    surrogate = " ".join(ordered)
    if len(surrogate) > TAG_HEADER_LIMIT:
        return None
    return {"surrogate-key": surrogate, "cache-tag": ",".join(ordered)}


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag
