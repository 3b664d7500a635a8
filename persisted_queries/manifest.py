"""Reading persisted-query manifests: Apollo's format and the Relay/Codegen map.

Apollo (`@apollo/generate-persisted-query-manifest`):

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "...", "name": "ProductPage", "type": "query", "body": "..."}]}

Relay and GraphQL Codegen (`persisted-documents.json`): `{"<id>": "<document>"}`.

Every problem names the operation it is about; one problem rejects the whole
manifest, so a release never ships half its documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from persisted_queries.hashing import InvalidDocumentIdError, parse_document_id, sha256_hex

APOLLO_FORMAT = "apollo-persisted-query-manifest"
OPERATION_TYPES = ("query", "mutation", "subscription")


@dataclass(frozen=True, slots=True)
class ManifestOperation:
    """One document of a manifest; `name` and `type` are only given by Apollo's format."""

    id: str
    name: str | None
    type: str | None
    body: str


@dataclass(frozen=True, slots=True)
class ManifestProblem:
    """What is wrong, and with which operation (`operation` is None for the file itself)."""

    message: str
    operation: str | None = None
    id: str | None = None

    def __str__(self) -> str:
        if self.operation and self.id:
            return f"operation {self.operation} (id {self.id}): {self.message}"
        if self.id:
            return f"document {self.id}: {self.message}"
        if self.operation:
            return f"{self.operation}: {self.message}"
        return self.message


class ManifestError(Exception):
    """The manifest is refused whole; `problems` lists every reason."""

    def __init__(self, problems: list[ManifestProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def load_manifest(raw: bytes) -> list[ManifestOperation]:
    """Decode JSON and read either format."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ManifestError([ManifestProblem("the manifest is not valid JSON")]) from None
    return parse_manifest(data)


def parse_manifest(data: Any) -> list[ManifestOperation]:
    """The operations of an Apollo manifest or of an id → document map."""
    if not isinstance(data, dict):
        raise ManifestError([ManifestProblem(_NOT_A_MANIFEST)])
    if "format" in data:
        operations, problems = _apollo(data)
    elif data and all(isinstance(value, str) for value in data.values()):
        operations = [ManifestOperation(str(key), None, None, body) for key, body in data.items()]
        problems = []
    else:
        raise ManifestError([ManifestProblem(_NOT_A_MANIFEST)])
    problems += [p for op in operations for p in _check_id(op)]
    problems += _duplicates(operations)
    if not operations and not problems:
        problems.append(ManifestProblem("the manifest has no operations"))
    if problems:
        raise ManifestError(problems)
    return _unique(operations)


_NOT_A_MANIFEST = (
    "not a persisted query manifest: expected Apollo's"
    ' {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [...]}'
    ' or a {"<id>": "<document>"} map'
)


def _apollo(data: dict[str, Any]) -> tuple[list[ManifestOperation], list[ManifestProblem]]:
    if data.get("format") != APOLLO_FORMAT:
        raise ManifestError([ManifestProblem(f"`format` must be {APOLLO_FORMAT!r}")])
    if data.get("version") != 1 or isinstance(data.get("version"), bool):
        raise ManifestError([ManifestProblem("`version` must be 1 (the only version there is)")])
    raw_operations = data.get("operations")
    if not isinstance(raw_operations, list):
        raise ManifestError([ManifestProblem("`operations` must be a list")])
    operations: list[ManifestOperation] = []
    problems: list[ManifestProblem] = []
    for index, raw in enumerate(raw_operations):
        where = f"operations[{index}]"
        if not isinstance(raw, dict):
            problems.append(ManifestProblem("must be an object", where))
            continue
        name, op_id = raw.get("name"), raw.get("id")
        label = name if isinstance(name, str) and name else where
        shown_id = op_id if isinstance(op_id, str) else None
        bad = [
            f"`{field}` must be a non-empty string"
            for field in ("id", "name", "body")
            if not isinstance(raw.get(field), str) or not raw.get(field)
        ]
        if raw.get("type") not in OPERATION_TYPES:
            bad.append("`type` must be one of query, mutation, subscription")
        problems += [ManifestProblem(message, label, shown_id) for message in bad]
        if not bad:
            operations.append(ManifestOperation(str(op_id), name, raw["type"], raw["body"]))
    return operations, problems


def _check_id(op: ManifestOperation) -> list[ManifestProblem]:
    try:
        parsed = parse_document_id(op.id)
    except InvalidDocumentIdError as exc:
        return [ManifestProblem(f"invalid id: {exc}", op.name, op.id)]
    if parsed.sha256 is not None and parsed.sha256 != sha256_hex(op.body):
        return [
            ManifestProblem(
                f"the id is a sha256: id but the document's SHA-256 is {sha256_hex(op.body)}",
                op.name,
                op.id,
            )
        ]
    return []


def _duplicates(operations: list[ManifestOperation]) -> list[ManifestProblem]:
    bodies: dict[str, str] = {}
    problems = []
    for op in operations:
        seen = bodies.setdefault(op.id, op.body)
        if seen != op.body:
            problems.append(
                ManifestProblem("the id appears twice with different documents", op.name, op.id)
            )
    return problems


def _unique(operations: list[ManifestOperation]) -> list[ManifestOperation]:
    by_id: dict[str, ManifestOperation] = {}
    for op in operations:
        by_id.setdefault(op.id, op)
    return list(by_id.values())
