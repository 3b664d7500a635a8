"""What the compiler will make of a manifest, told when it is registered.

A push compiles every operation of the manifest once, without keeping the
result, so that the operator learns at release time which operations will
run on the reference executor, and why, rather than from a metric later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from graphql import GraphQLSchema, OperationDefinitionNode, parse

from infra.graphql_documents import MAX_TOKENS
from persisted_queries.plans.codegen import UnsupportedOperationError
from persisted_queries.plans.compiler import compile_operation


@dataclass(frozen=True, slots=True)
class PlanReport:
    compiled: int = 0
    fallbacks: list[tuple[str | None, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "compiled": self.compiled,
            "fallbacks": [{"operation": name, "reason": reason} for name, reason in self.fallbacks],
        }


def plan_report(schema: GraphQLSchema, bodies: Iterable[str]) -> PlanReport:
    """Compile each operation of each (registered, hence valid) document."""
    report = PlanReport()
    compiled = 0
    for body in bodies:
        document = parse(body, max_tokens=MAX_TOKENS)
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            name = definition.name.value if definition.name else None
            try:
                compile_operation(schema, document, name)
            except UnsupportedOperationError as error:
                report.fallbacks.append((name, str(error)))
            else:
                compiled += 1
    return PlanReport(compiled, report.fallbacks)
