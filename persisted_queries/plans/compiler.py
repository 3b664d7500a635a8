"""Compiled execution plans for persisted documents.

A registered or APQ-persisted document is known before it is sent, so it is
compiled once, by `PlanCompiler`, into Python functions specialised to its
selections (see `codegen`), and executed by them instead of graphql-core's
generic executor. The response is the same, byte for byte: the differential
tests compare both on every contract operation and on generated ones.

An operation whose `@skip`/`@include` conditions use variables gets one
compiled variant per combination of those values, made on first use (at most
`MAX_VARIANTS`). Whatever the compiler does not handle (subscriptions,
introspection, `@defer`, fragment arguments) is not compiled: the operation
runs on the reference executor, and the compiler logs it once and counts it
by reason, so a fallback is visible, never silent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.values import VariableValues, get_variable_values
from graphql.language import DirectiveNode, Visitor, visit

from infra.graphql_documents import PreparedDocument
from infra.operation_cost import OperationCost, operation_cost
from persisted_queries.plans.codegen import CodeGenerator, UnsupportedOperationError
from persisted_queries.plans.runtime import Run

log = logging.getLogger("vitrine.plans")

MAX_VARIANTS = 16
MAX_LOGGED = 1000  # (operation, reason) pairs remembered for logging once
MAX_COERCION_ERRORS = 50  # graphql-core's default for variable coercion
NO_VARIABLES = VariableValues({}, {})


@dataclass(slots=True)
class PlanStats:
    """Counters of one compiler, read by /metrics: how much runs compiled, and what not."""

    compiled: int = 0
    executions: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)
    fallback_executions: int = 0
    _logged: set[tuple[str | None, str]] = field(default_factory=set)

    def fell_back(self, operation: str | None, reason: str, detail: str = "") -> None:
        """An operation (or one variant of it) runs on the reference executor: logged
        once per operation and reason (operation names are the clients' to choose, so
        past MAX_LOGGED pairs only a reason never seen is logged)."""
        self.fallback_executions += 1
        self.fallbacks[reason] += 1
        key = (operation, reason)
        if key in self._logged:
            return
        if len(self._logged) < MAX_LOGGED:
            self._logged.add(key)
        elif self.fallbacks[reason] > 1:
            return
        log.warning(
            "operation %r runs on the reference executor: %s%s",
            operation or "",
            reason,
            f" ({detail})" if detail else "",
        )


@dataclass(slots=True)
class Variant:
    """The generated functions of an operation for one set of directive values."""

    root: Callable[..., Any] | None
    steps: list[Callable[..., Any]]
    source: str


@dataclass(slots=True)
class CompiledOperation:
    """One operation of a document, compiled; `execute` replaces graphql-core's `execute`."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    directive_variables: tuple[str, ...]
    cost: OperationCost
    stats: PlanStats
    policy: Any = None
    hide_suggestions: bool = False  # no "Did you mean ...?" in variable errors
    definitions: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    variants: dict[tuple[Any, ...], Variant] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None

    def variant(self, variables: VariableValues) -> Variant:
        coerced = variables.coerced
        key = tuple(coerced.get(name) for name in self.directive_variables)
        found = self.variants.get(key)
        if found is None:
            if len(self.variants) >= MAX_VARIANTS:
                raise UnsupportedOperationError("too many @skip/@include combinations")
            generator = CodeGenerator(self.schema, self.operation, self.fragments, variables)
            root, steps, source = generator.compile()
            found = self.variants[key] = Variant(root, steps, source)
        return found

    async def execute(
        self, context: Any, raw_variables: Mapping[str, Any] | None, root_value: Any = None
    ) -> ExecutionResult | None:
        """The operation's result; None when this variant cannot be compiled (the caller
        then runs the reference executor, and the fallback is counted)."""
        definitions = self.operation.variable_definitions
        if definitions:
            variables = get_variable_values(
                self.schema,
                definitions,
                dict(raw_variables or {}),
                max_errors=MAX_COERCION_ERRORS,
                hide_suggestions=self.hide_suggestions,
            )
            if isinstance(variables, list):
                return ExecutionResult(None, variables)
        else:
            variables = NO_VARIABLES
        try:
            variant = self.variant(variables)
        except UnsupportedOperationError as error:
            self.stats.fell_back(self.name, str(error), error.detail)
            return None
        except GraphQLError:
            # A directive's variable that does not coerce (`@skip(if: $v)`, $v null):
            # graphql-core reports it in its own way; leave it to graphql-core.
            self.stats.fallback_executions += 1
            return None
        self.stats.executions += 1
        run = Run(self.schema, self.operation, context, variables, self.definitions)
        data: dict[str, Any] | None
        if variant.root is not None:
            try:
                data = variant.root(root_value, None, run, None)
            except GraphQLError as error:
                run.add(error, None)
                data = None
            await run.drain()
        else:
            data = await _serially(variant.steps, root_value, run)
        if run.root_nulled:
            data = None
        return ExecutionResult(data, run.errors or None)


async def _serially(steps: list[Callable[..., Any]], root_value: Any, run: Run) -> Any:
    """A mutation's root fields, each one finished (its whole subtree) before the next."""
    data: dict[str, Any] = {}
    for step in steps:
        try:
            out = step(root_value, None, run, None)
        except GraphQLError as error:
            run.add(error, None)
            await run.drain()
            return None
        await run.drain()  # fills `out` in place: merge it once the field is complete
        if run.root_nulled:
            return None
        data.update(out)
    return data


@dataclass(frozen=True, slots=True)
class Fallback:
    """Why an operation runs on the reference executor."""

    reason: str
    detail: str = ""


class PlanCompiler:
    """Compiles operations of prepared documents, and remembers the outcome per document.

    `policy_of(document, operation_name)` (optional) gives the response-cache
    policy stored with each plan, so it is worked out at compile time too.
    `hide_suggestions` is the plans' setting for variable errors (on where
    introspection is off).
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        enabled: bool = True,
        policy_of: Callable[[DocumentNode, str | None], Any] | None = None,
        hide_suggestions: bool = False,
    ) -> None:
        self.schema = schema
        self.enabled = enabled
        self.hide_suggestions = hide_suggestions
        self._policy_of = policy_of
        self.stats = PlanStats()

    def prepare(self, prepared: PreparedDocument) -> None:
        """Compile every operation of a document now (at registration), not on a request."""
        if self.enabled:
            for name in prepared.operations:
                if name not in prepared.plans:
                    prepared.plans[name] = self._compile(prepared, name)

    def plan(
        self, prepared: PreparedDocument, operation_name: str | None
    ) -> CompiledOperation | None:
        """The compiled operation (compiled on first use), or None: run the reference.

        Plans live on the prepared document, so they last exactly as long as
        the document cache keeps it.
        """
        if operation_name is None and len(prepared.operations) == 1:
            operation_name = next(iter(prepared.operations))
        found = prepared.plans.get(operation_name)
        if found is None:
            found = prepared.plans[operation_name] = self._compile(prepared, operation_name)
        if isinstance(found, Fallback):
            if self.enabled:
                self.stats.fell_back(operation_name, found.reason, found.detail)
            return None
        return found

    def _compile(
        self, prepared: PreparedDocument, operation_name: str | None
    ) -> CompiledOperation | Fallback:
        if not self.enabled:
            return Fallback("compiled plans are off (VITRINE_COMPILED_PLANS=false)")
        try:
            compiled = compile_operation(
                self.schema,
                prepared.document,
                operation_name,
                self.stats,
                cost=prepared.cost_of(operation_name),
            )
            compiled.hide_suggestions = self.hide_suggestions
            if self._policy_of is not None:
                compiled.policy = self._policy_of(prepared.document, operation_name)
        except UnsupportedOperationError as error:
            return Fallback(str(error), error.detail)
        self.stats.compiled += 1
        return compiled


def compile_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    stats: PlanStats | None = None,
    *,
    cost: OperationCost | None = None,
) -> CompiledOperation:
    """Compile one operation of a validated document (its first variant at once, so an
    unsupported construct is found now rather than on a request). `cost`: the
    operation's, when the document cache already worked it out (`infra.operation_cost`,
    the one cost function of free-form and persisted documents alike)."""
    operation = _operation(document, operation_name)
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                raise UnsupportedOperationError("fragment arguments run on the reference executor")
            fragments[definition.name.value] = FragmentDetails(definition, None)
    if operation.operation is OperationType.SUBSCRIPTION:
        raise UnsupportedOperationError("subscriptions run on the reference executor")
    directive_variables = _directive_variables(document)
    if len(directive_variables) > 4:
        raise UnsupportedOperationError("more than 4 variables in @skip/@include")
    compiled = CompiledOperation(
        schema,
        operation,
        fragments,
        directive_variables,
        cost if cost is not None else operation_cost(schema, document, operation),
        stats or PlanStats(),
        definitions={name: details.definition for name, details in fragments.items()},
    )
    if not directive_variables:
        compiled.variant(NO_VARIABLES)
    # With conditions on variables, each variant compiles on first use; one the
    # compiler cannot make raises UnsupportedOperationError before anything runs.
    return compiled


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            raise UnsupportedOperationError("no single operation to compile")
        return operations[0]
    for operation in operations:
        if operation.name and operation.name.value == operation_name:
            return operation
    raise UnsupportedOperationError("no operation of that name", repr(operation_name))


class _DirectiveVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, None] = {}

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        if node.name.value not in ("skip", "include"):
            return
        for argument in node.arguments or ():
            value = argument.value
            if value.kind == "variable":
                self.names[value.name.value] = None  # type: ignore[attr-defined]


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    finder = _DirectiveVariables()
    visit(document, finder)
    return tuple(finder.names)
