"""Pure identity rules: SHA-256 of a text, document ids, and the normalized form.

The normalized form is what the safelist compares: two documents that differ
only in whitespace, commas, comments, string quoting or the order of their
definitions normalize to the same text. It is computed from the token stream
(graphql-core's lexer), not from a parse, so that text the safelist rejects is
never parsed at all; the lexer stops at `MAX_TOKENS`, like the parser does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import orjson
from graphql.language import Lexer, Source, Token, TokenKind

MAX_TOKENS = 15_000
MAX_ID_LENGTH = 512

_UNRESERVED = r"[A-Za-z0-9._~-]+"
_SHA256_ID = re.compile(r"sha256:([0-9a-f]{64})")
_OTHER_PREFIXED_ID = re.compile(rf"x-{_UNRESERVED}:{_UNRESERVED}")
_CUSTOM_ID = re.compile(_UNRESERVED)
_OPERATION_KEYWORDS = ("query", "mutation", "subscription")


class InvalidDocumentIdError(ValueError):
    """A `documentId` outside the GraphQL-over-HTTP appendix's grammar."""


class DocumentTooLargeError(ValueError):
    """The text has more tokens than any document Vitrine accepts."""


def sha256_hex(text: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 text: APQ's `sha256Hash`, the `sha256:` payload."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class DocumentId:
    """A parsed `documentId`; `key` is what the store looks up (the hex for `sha256:`)."""

    raw: str
    key: str
    sha256: str | None = None


def parse_document_id(raw: str) -> DocumentId:
    """`sha256:` + 64 lowercase hex, `x-<prefix>:<payload>`, or a custom id (no colon)."""
    if len(raw) > MAX_ID_LENGTH:
        raise InvalidDocumentIdError(f"a document id has at most {MAX_ID_LENGTH} characters")
    sha = _SHA256_ID.fullmatch(raw)
    if sha:
        return DocumentId(raw, sha.group(1), sha.group(1))
    if ":" in raw:
        if _OTHER_PREFIXED_ID.fullmatch(raw):
            return DocumentId(raw, raw)
        raise InvalidDocumentIdError(
            "a prefixed document id is `sha256:` and 64 lowercase hex digits,"
            " or `x-<prefix>:<payload>`"
        )
    if _CUSTOM_ID.fullmatch(raw):
        return DocumentId(raw, raw)
    raise InvalidDocumentIdError(
        "a document id may only contain letters, digits, `-`, `.`, `_`, `~` (and one `:`"
        " after a prefix)"
    )


def normalize(text: str) -> str:
    """The canonical text: tokens joined by single spaces, one definition per line,
    definitions sorted by (kind, name). Raises GraphQLSyntaxError on bad tokens."""
    definitions: list[list[Token]] = []
    current: list[Token] = []
    braces = parens = count = 0
    lexer = Lexer(Source(text))
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        current.append(token)
        count += 1
        if count > MAX_TOKENS:
            raise DocumentTooLargeError(f"more than {MAX_TOKENS} tokens")
        kind = token.kind
        if kind is TokenKind.PAREN_L:
            parens += 1
        elif kind is TokenKind.PAREN_R:
            parens -= 1
        elif kind is TokenKind.BRACE_L:
            braces += 1
        elif kind is TokenKind.BRACE_R:
            braces -= 1
            # A definition ends with its selection set, outside any arguments.
            if braces == 0 and parens == 0:
                definitions.append(current)
                current = []
        token = lexer.advance()
    if current:
        definitions.append(current)
    canonical = sorted(_canonical_definition(tokens) for tokens in definitions)
    return "\n".join(text for _key, text in canonical)


def normalized_hash(text: str) -> str:
    """SHA-256 of the normalized form (raises like `normalize`)."""
    return sha256_hex(normalize(text))


def _canonical_definition(tokens: list[Token]) -> tuple[tuple[str, str], str]:
    first = tokens[0]
    if (
        first.kind is TokenKind.NAME
        and first.value == "query"
        and len(tokens) > 1
        and tokens[1].kind is TokenKind.BRACE_L
    ):
        tokens = tokens[1:]  # `query { ... }` is the shorthand `{ ... }`
        first = tokens[0]
    if first.kind is TokenKind.BRACE_L:
        key = ("query", "")
    elif first.value in (*_OPERATION_KEYWORDS, "fragment"):
        second = tokens[1] if len(tokens) > 1 else None
        name = second.value if second is not None and second.kind is TokenKind.NAME else ""
        key = (str(first.value), name or "")
    else:
        key = ("~", "")  # not an executable definition: kept, so it can never match one
    return key, " ".join(_token_text(t) for t in tokens)


def _token_text(token: Token) -> str:
    if token.kind in (TokenKind.STRING, TokenKind.BLOCK_STRING):
        return orjson.dumps(token.value).decode()
    if token.value is not None:
        return str(token.value)
    return str(token.kind.value)
