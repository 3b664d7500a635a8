"""Cache keys: everything that can change an operation's answer, and nothing else.

A key hashes, in order: a format version; the document's fingerprint and the
operation name; the variables in canonical form (sorted keys, so the same
variables in another order share an entry); what the answer varies by for
this viewer; and the generation of every read model. The viewer part
follows the policy's scope: a PRIVATE answer is keyed by the viewer's id and
segments, a PUBLIC one only by the viewer's price segments, so every anonymous or
unsegmented shopper shares one entry. Generations change when a read model
is rebuilt and swapped in, which moves every key at once: nothing computed
from the old tables can be found afterwards.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import DocumentNode, print_ast

from infra.response_cache.policy import Scope

KEY_VERSION = b"vitrine-response-v2"


@dataclass(frozen=True, slots=True)
class Vary:
    """The viewer-dependent part of a key (see `vary_for`)."""

    viewer: str | None = None
    segments: tuple[str, ...] = ()

    def encode(self) -> bytes:
        """JSON, so that no viewer id or segment name (a comma, a separator) can make
        two different viewers' parts equal."""
        return orjson.dumps([self.viewer, self.segments])


ANONYMOUS_PUBLIC = Vary()


def vary_for(scope: Scope, viewer_id: str | None, segments: Iterable[str]) -> Vary:
    """PRIVATE: the viewer and their segments (anonymous viewers share one entry);
    PUBLIC: the segments. Segments are read per request, not from the token: when
    they change, the next request's key changes with them."""
    segments = tuple(sorted(set(segments)))
    if scope is Scope.PRIVATE:
        return Vary(viewer=viewer_id or "", segments=segments)
    return Vary(segments=segments) if segments else ANONYMOUS_PUBLIC


def canonical_variables(variables: Mapping[str, Any] | None) -> bytes:
    """Variables as bytes that are equal exactly when the variables are equal."""
    if not variables:
        return b"{}"
    return orjson.dumps(variables, option=orjson.OPT_SORT_KEYS, default=str)


def cache_key(
    fingerprint: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    vary: Vary,
    generations: Mapping[str, int],
) -> str:
    """The key of one answer: a hex digest, the same in every process."""
    digest = hashlib.blake2b(KEY_VERSION, digest_size=20)
    for part in (
        fingerprint.encode(),
        (operation_name or "").encode(),
        canonical_variables(variables),
        vary.encode(),
        ",".join(f"{name}={generations[name]}" for name in sorted(generations)).encode(),
    ):
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.hexdigest()


class Fingerprints:
    """A stable fingerprint per prepared document, computed once per document object.

    The document's source text when the parser kept it (the same text every
    process parses), otherwise its printed form; hashed with SHA-256. Held by
    identity through weak references, like the policies.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[weakref.ref[DocumentNode], str]] = {}

    def of(self, document: DocumentNode) -> str:
        key = id(document)
        found = self._known.get(key)
        if found is not None and found[0]() is document:
            return found[1]
        fingerprint = document_fingerprint(document)
        self._known[key] = (
            weakref.ref(document, lambda _: self._known.pop(key, None)),
            fingerprint,
        )
        return fingerprint


def document_fingerprint(document: DocumentNode) -> str:
    source = document.loc.source.body if document.loc is not None else print_ast(document)
    return hashlib.sha256(source.encode()).hexdigest()
