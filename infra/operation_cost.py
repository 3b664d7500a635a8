"""The cost of an operation, worked out once per document, for every request that runs it.

`operation_cost` is the one function both kinds of documents use: the
document cache calls it when a free-form document first validates, the plan
compiler when it compiles a persisted one. What a request pays for it is the
evaluation of a small formula (`requested`, before anything runs: over
VITRINE_MAX_COST the request is refused) and a walk of the answer's objects
(`actual`, after). The weights are in `infra.cost_weights`.

Responses carry both in `extensions.cost`, in the shape Shopify's clients
parse: `{"requestedQueryCost", "actualQueryCost", "throttleStatus"}`; the
throttle status is the rate limiter's (`{"maximumAvailable",
"currentlyAvailable", "restoreRate"}`) when reads are charged by cost, else
null. An answer from the response cache reports the actual cost of the
answer it stored (the same data, so the same cost).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    OperationDefinitionNode,
)

from infra.cost_formula import Cost, CostFormulas
from infra.cost_shape import Shape
from infra.cost_weights import capped
from infra.fragment_order import fragment_definitions

# GraphQL Armor's cost-limit default; every contract operation costs far less (README).
DEFAULT_MAX_COST = 5000


@dataclass(frozen=True, slots=True)
class OperationCost:
    """The requested cost (a formula of the page variables) and the shape of the answer."""

    formula: Cost
    defaults: Mapping[str, int]
    shape: Shape

    def requested(self, variables: Mapping[str, Any] | None) -> int:
        """The cost before running, with this request's variables (a constant when no
        variable sets a page size)."""
        formula = self.formula
        if not formula.terms:
            return formula.fixed
        return formula.evaluate(variables, self.defaults)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        """The cost of an answer's `data`: lists by their lengths, nulls free."""
        return 0 if data is None else self.shape.cost(data)


def operation_cost(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> OperationCost:
    """The cost of one operation of a validated document."""
    return document_costs(schema, document, [operation])[0]


def document_costs(
    schema: GraphQLSchema, document: DocumentNode, operations: list[OperationDefinitionNode]
) -> list[OperationCost]:
    """The costs of several operations of one validated document, its fragments priced once."""
    fragments = fragment_definitions(document)
    formulas = CostFormulas(schema, fragments)
    costs = []
    for operation in operations:
        root = schema.get_root_type(operation.operation)
        if root is None:  # validation refuses an operation without a root type
            raise ValueError(f"the schema has no {operation.operation.value} type")
        defaults = {
            v.variable.name.value: capped(int(v.default_value.value))
            for v in operation.variable_definitions or ()
            if isinstance(v.default_value, IntValueNode)
        }
        shape = Shape(schema, fragments, [(root, operation.selection_set)])
        costs.append(
            OperationCost(formulas.operation(root, operation.selection_set), defaults, shape)
        )
    return costs


def cost_extension(
    requested: int, actual: int, throttle_status: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`extensions.cost` of a response (Shopify's shape); `throttle_status` is the rate
    limiter's cost bucket, when there is one."""
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": None if throttle_status is None else dict(throttle_status),
    }


def cost_limit_error(requested: int, max_cost: int) -> GraphQLError:
    """COST_LIMIT_EXCEEDED: the operation may cost more than one request is allowed."""
    return GraphQLError(
        f"this operation may cost {requested}, more than the {max_cost} allowed per request: "
        "ask for fewer items (a smaller `first`), or split it into several operations",
        extensions={"code": "COST_LIMIT_EXCEEDED", "cost": requested, "maxCost": max_cost},
    )
