"""`graphql.document` for the server span: the document with every literal value masked.

The OpenTelemetry GraphQL conventions carry the document on the span, and ask
that it be sanitized: a literal argument can be a customer's search, an id or
an address, none of which belongs in a tracing backend. Strings become `"?"`,
numbers `0`, and lists and objects their masked items; enum values, booleans,
null and variables stay, since they say what the query does, not whose data it
touched. Printing costs about as much as executing a small query, so each
document is printed once and kept, by the document's identity, for as long as
the document cache keeps the document.
"""

from __future__ import annotations

import weakref
from typing import Any

from graphql import (
    DocumentNode,
    FloatValueNode,
    IntValueNode,
    StringValueNode,
    Visitor,
    print_ast,
    visit,
)


class _MaskLiterals(Visitor):
    def enter_string_value(self, node: StringValueNode, *_: Any) -> StringValueNode:
        return StringValueNode(value="?")

    def enter_int_value(self, node: IntValueNode, *_: Any) -> IntValueNode:
        return IntValueNode(value="0")

    def enter_float_value(self, node: FloatValueNode, *_: Any) -> IntValueNode:
        return IntValueNode(value="0")


def sanitized_document(document: DocumentNode) -> str:
    """The document's text with its literal strings and numbers masked."""
    return print_ast(visit(document, _MaskLiterals()))


class SanitizedDocuments:
    """`sanitized_document` once per document object (weakly held, like its plans)."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[weakref.ref[DocumentNode], str]] = {}

    def text(self, document: DocumentNode) -> str:
        key = id(document)
        found = self._texts.get(key)
        if found is not None and found[0]() is document:
            return found[1]
        text = sanitized_document(document)
        self._texts[key] = (weakref.ref(document, lambda _: self._texts.pop(key, None)), text)
        return text
