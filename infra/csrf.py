"""Cross-site request forgery prevention for /graphql, Apollo's rule.

A browser sends some requests cross-origin without asking the server first
(a CORS preflight): GETs and POSTs whose `Content-Type` is one of three
"simple" types. Such a request could run an operation with the victim's
cookies, or leak timing (XS-Search), whatever the CORS policy says. So a
request is only accepted if it could not have been simple: it names another
content type, or it carries a header that only a preflighted request may
carry. Apollo Client sets `Content-Type: application/json` even on GET, and
Apollo iOS and Kotlin send `X-Apollo-Operation-Name`; other clients add
`Apollo-Require-Preflight: true`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.media_types import media_type_essence

SIMPLE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
DEFAULT_REQUIRED_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")


def is_preflighted(headers: Mapping[str, str], required_headers: Sequence[str]) -> bool:
    """Whether a browser must have sent a CORS preflight before this request.

    A `Content-Type` that does not parse counts as non-simple: browsers
    preflight those too. `headers` must look names up case-insensitively.
    """
    content_type = headers.get("content-type")
    if content_type is not None:
        essence = media_type_essence(content_type)
        if essence is None or essence not in SIMPLE_CONTENT_TYPES:
            return True
    return any(headers.get(name) for name in required_headers)


def csrf_message(required_headers: Sequence[str]) -> str:
    """What a blocked client must change, naming the headers that unblock it."""
    return (
        "This request has been blocked as a potential cross-site request forgery (CSRF). "
        "Send a Content-Type other than "
        + ", ".join(sorted(SIMPLE_CONTENT_TYPES))
        + " (such as application/json), or a non-empty value for one of these headers: "
        + ", ".join(required_headers)
        + "."
    )
