"""Turning one operation into Python source: a function per selection set.

The generator walks graphql-core's own field collection (`collect_fields`,
`collect_subfields`, with the request's `@skip`/`@include` values), so which
fields run and in which order is decided exactly as by the reference
executor. What it emits, per object selection, is a plain function
`o<N>(src, path, r, bnd) -> dict` that:

- reads a plain Strawberry field as an attribute (`src.title`);
- calls any other field's resolver (`field.resolve`, the same function the
  reference executor calls) with its arguments, built once at compile time
  when they are constants, or by graphql-core's `get_argument_values` when
  they use variables;
- keeps a leaf whose Python type is already its JSON form as is (a `str` for
  String, a 32-bit `int` for Int...) and otherwise calls the type's own
  `coerce_output_value`, so custom scalars and enums serialize as ever;
- hands an awaitable (a loader future) to `Run.defer` with a continuation.

Error handling mirrors graphql-core's `execute_field`/`complete_value`
statement for statement, with the same messages; see `runtime` for how
errors and nulls propagate.
"""

from __future__ import annotations

import dis
import inspect as pyinspect
import keyword
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from math import inf
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.executor import default_type_resolver, invalid_return_type_error
from graphql.execution.values import VariableValues, get_argument_values
from graphql.language import VariableNode, Visitor, visit
from graphql.pyutils import inspect, is_iterable
from strawberry.execution.is_awaitable import optimized_is_awaitable

STRAWBERRY_DEFINITION = "strawberry-definition"
META_FIELDS = frozenset({"__schema", "__type"})

FieldDetailsList = list[FieldDetails]

# Leaves whose Python value is already their output: (type, condition on `v`).
_FAST_LEAVES: dict[Any, str] = {
    GraphQLString: "{v}.__class__ is str",
    GraphQLID: "{v}.__class__ is str",
    GraphQLBoolean: "{v}.__class__ is bool",
    GraphQLInt: "{v}.__class__ is int and -2147483648 <= {v} <= 2147483647",
    GraphQLFloat: "{v}.__class__ is float and -INF < {v} < INF",
}


class UnsupportedOperationError(Exception):
    """The compiler does not handle this operation: it runs on the reference executor.

    The message is the reason, one of a fixed few per schema (it labels a metric);
    `detail`, for the log only, may carry the document's own text."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


def is_async(value: Any) -> bool:
    """Whether a resolver's value must be awaited; remembers the classes that never are."""
    if optimized_is_awaitable(value):
        return True
    cls = value.__class__
    if cls is not _GENERATOR:  # a generator's awaitability depends on its code object
        SYNC_CLASSES.add(cls)
    return False


def is_async_list(value: Any) -> bool:
    """`is_async` for a list field's value, where an async iterable is awaited too
    (graphql-core collects it); classes that are neither are remembered apart."""
    cls = value.__class__
    if cls in SYNC_LIST_CLASSES:
        return False
    if optimized_is_awaitable(value) or hasattr(value, "__aiter__"):
        return True
    if cls is not _GENERATOR:
        SYNC_LIST_CLASSES.add(cls)
    return False


SYNC_LIST_CLASSES: set[type] = {type(None), list, tuple}


class _Unread:
    """Marks an attribute not read yet (None is a value)."""


UNREAD = _Unread()


def reraise(error: BaseException) -> Any:
    raise error


def raise_if_exception(value: Any) -> None:
    """graphql-core raises a value that is an Exception; remember the classes that are not
    (a set lookup is cheaper than `isinstance` on every completed value)."""
    if isinstance(value, Exception):
        raise value
    NOT_EXCEPTIONS.add(value.__class__)


NOT_EXCEPTIONS: set[type] = {type(None), bool, int, float, str, list, tuple, dict}


def _generator() -> Any:
    yield None


_GENERATOR = type(_generator())
SYNC_CLASSES: set[type] = {type(None), bool, int, float, str, bytes, list, tuple, dict}


def ensure_valid_runtime_type(
    schema: GraphQLSchema,
    runtime_type_name: Any,
    return_type: Any,
    parent_type: GraphQLObjectType,
    field_name: str,
    nodes: list[Any],
    result: Any,
) -> GraphQLObjectType:
    """graphql-core's `Executor.ensure_valid_runtime_type`, with its messages."""
    where = f"for field '{parent_type}.{field_name}'"
    if runtime_type_name is None:
        raise GraphQLError(
            f"Abstract type '{return_type}' must resolve to an Object type at runtime"
            f" {where}. Either the '{return_type}' type should provide a 'resolve_type'"
            " function or each possible type should provide an 'is_type_of' function.",
            nodes,
        )
    if not isinstance(runtime_type_name, str):
        raise GraphQLError(
            f"Abstract type '{return_type}' must resolve to an Object type at runtime"
            f" {where} with value {inspect(result)}, received"
            f" '{inspect(runtime_type_name)}', which is not a valid Object type name.",
            nodes,
        )
    runtime_type = schema.get_type(runtime_type_name)
    if runtime_type is None:
        raise GraphQLError(
            f"Abstract type '{return_type}' was resolved to a type '{runtime_type_name}'"
            " that does not exist inside the schema.",
            nodes,
        )
    if not is_object_type(runtime_type):
        raise GraphQLError(
            f"Abstract type '{return_type}' was resolved to a non-object type"
            f" '{runtime_type_name}'.",
            nodes,
        )
    if not schema.is_sub_type(return_type, runtime_type):
        raise GraphQLError(
            f"Runtime Object type '{runtime_type}' is not a possible type for '{return_type}'.",
            nodes,
        )
    return runtime_type


class _Field:
    """What the code of one field position needs to know about it."""

    __slots__ = ("definition", "details", "name", "nodes", "parent")

    def __init__(
        self,
        parent: GraphQLObjectType,
        name: str,
        definition: GraphQLField,
        details: FieldDetailsList,
    ) -> None:
        self.parent = parent
        self.name = name
        self.definition = definition
        self.details = details
        self.nodes = [d.node for d in details]


class CodeGenerator:
    """Generates the functions of one operation variant (one set of directive values)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDetails],
        directive_values: VariableValues,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.directive_values = directive_values
        self.chunks: list[str] = []
        self.namespace: dict[str, Any] = {
            "Undefined": Undefined,
            "GraphQLError": GraphQLError,
            "INF": inf,
            "SYNC": SYNC_CLASSES,
            "SYNC_L": SYNC_LIST_CLASSES,
            "NE": NOT_EXCEPTIONS,
            "NX": raise_if_exception,
            "AW": is_async,
            "UNREAD": UNREAD,
            "RERAISE": reraise,
            "AWL": is_async_list,
            "is_iterable": is_iterable,
            "GA": get_argument_values,
            "IRT": invalid_return_type_error,
            "EVRT": ensure_valid_runtime_type,
            "DTR": default_type_resolver,
        }
        self._count = 0
        self._completions: dict[tuple[int, str], str] = {}
        # Objects made only of fast plain fields: (reads, checks, dict display) of `src`.
        self._plain_objects: dict[str, tuple[list[str], str, str]] = {}
        self._fields: list[_Field] = []  # kept alive: completions are memoised by id

    # -- names ------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def const(self, value: Any, prefix: str = "k") -> str:
        name = self._name(f"_{prefix}")
        self.namespace[name] = value
        return name

    # -- entry point ------------------------------------------------------------

    def root(self) -> tuple[str, list[str]]:
        """Emit the root selection: (query function, []) or (None-ish, mutation steps)."""
        operation_type = self.operation.operation
        if operation_type is OperationType.SUBSCRIPTION:
            raise UnsupportedOperationError("subscriptions run on the reference executor")
        root_type = self.schema.get_root_type(operation_type)
        if root_type is None:
            raise UnsupportedOperationError(f"the schema has no {operation_type.value} type")
        collected = collect_fields(
            self.schema, self.fragments, self.directive_values, root_type, self.operation
        )
        self._check_collected(collected)
        grouped = collected.grouped_field_set
        if operation_type is OperationType.MUTATION:
            steps = [
                self._object(root_type, {key: fields}, None, root=True)
                for key, fields in grouped.items()
            ]
            return "", steps
        return self._object(root_type, grouped, None, root=True), []

    def compile(self) -> tuple[Callable[..., Any] | None, list[Callable[..., Any]], str]:
        root, steps = self.root()
        source = "\n\n".join(self.chunks) + "\n"
        code = compile(
            source, f"<plan {self.operation.name.value if self.operation.name else ''}>", "exec"
        )
        exec(code, self.namespace)
        return (
            self.namespace[root] if root else None,
            [self.namespace[s] for s in steps],
            source,
        )

    # -- selections ---------------------------------------------------------------

    def _check_collected(self, collected: Any) -> None:
        if collected.new_defer_usages:
            raise UnsupportedOperationError("@defer runs on the reference executor")
        if getattr(collected, "forbidden_directive_instances", None):
            raise UnsupportedOperationError("forbidden directives")

    def _object(
        self,
        object_type: GraphQLObjectType,
        grouped: dict[str, FieldDetailsList],
        parent_field: _Field | None,
        *,
        root: bool = False,
    ) -> str:
        name = self._name("o")
        lines = [f"def {name}(src, path, r, bnd):"]
        if not root and object_type.is_type_of is not None:
            if pyinspect.iscoroutinefunction(object_type.is_type_of):
                raise UnsupportedOperationError(f"{object_type.name}.is_type_of is async")
            assert parent_field is not None
            lines.append(
                f"    if not {self.const(object_type.is_type_of, 'ito')}(src, r.info):"
                f" raise IRT({self.const(object_type)}, src, {self.const(parent_field.details)})"
            )
        plain = self._all_plain(object_type, grouped)
        body: list[str] = []
        if plain is None:
            for key, details in grouped.items():
                self._field(body, object_type, key, details)
            lines += self._object_body(body)
            self.chunks.append("\n".join(lines))
            return name
        # All fast plain fields: read every attribute once, and when every value is
        # already in its output form, answer with one dict display; otherwise the
        # field-by-field path completes the values already read (a read that
        # raised is that field's error; the attributes after it are read then).
        reads, checks, display = plain
        names = [f"v{index}" for index in range(len(reads))]
        rest = f"{name}_rest"
        arguments = ", ".join(names)
        lines.append(f"    {' = '.join(names)} = UNREAD")
        lines += ["    try:", *(f"        {read}" for read in reads)]
        lines += [
            "    except Exception as e:",
            f"        return {rest}(src, path, r, bnd, e, {arguments})",
        ]
        lines += [f"    if {checks}:", f"        return {display}"]
        lines.append(f"    return {rest}(src, path, r, bnd, None, {arguments})")
        self.chunks.append("\n".join(lines))
        self._plain_objects[name] = plain
        index = 0
        for key, details in grouped.items():
            if details[0].node.name.value == "__typename":
                self._field(body, object_type, key, details)
                continue
            var = names[index]
            attribute = reads[index].split(" = ", 1)[1]
            getter = (
                f"({var} if {var} is not UNREAD"
                f" else RERAISE(err) if first == {index} else {attribute})"
            )
            self._field(body, object_type, key, details, getter=getter)
            index += 1
        rest_lines = [f"def {rest}(src, path, r, bnd, err, {arguments}):"]
        rest_lines.append(
            f"    first = next((i for i, v in enumerate(({arguments},)) if v is UNREAD), -1)"
            " if err is not None else -1"
        )
        rest_lines += self._object_body(body)
        self.chunks.append("\n".join(rest_lines))
        return name

    @staticmethod
    def _object_body(body: list[str]) -> list[str]:
        lines = ["    out = {}"]
        if any("info" in line for line in body):
            lines.append("    info = r.info")
        if any("tr " in line or "tr)" in line for line in body):
            lines.append("    tr = r.traced")
        return [*lines, *body, "    return out"]

    def _all_plain(
        self, object_type: GraphQLObjectType, grouped: dict[str, FieldDetailsList]
    ) -> tuple[list[str], str, str] | None:
        """When every field is a plain attribute of a leaf type with a fast form, the
        whole object is one dict display, after all its values pass their checks;
        anything else (an error, a null, a value needing its serializer) takes the
        field-by-field path, which reads the attributes again."""
        reads: list[str] = []
        checks: list[str] = []
        items: list[str] = []
        for index, (key, details) in enumerate(grouped.items()):
            node = details[0].node
            field_name = node.name.value
            if field_name == "__typename":
                items.append(f"{key!r}: {object_type.name!r}")
                continue
            if details[0].fragment_variable_values is not None or field_name in META_FIELDS:
                return None
            definition = self.schema.get_field(object_type, field_name)
            if definition is None:
                return None
            strawberry_field = (definition.extensions or {}).get(STRAWBERRY_DEFINITION)
            if (
                strawberry_field is None
                or strawberry_field.base_resolver is not None
                or strawberry_field.extensions
                or definition.args
                or node.arguments
            ):
                return None
            python_name = strawberry_field.python_name
            if not python_name.isidentifier() or keyword.iskeyword(python_name):
                return None
            field_type: Any = definition.type
            nullable = not is_non_null_type(field_type)
            named = field_type if nullable else field_type.of_type
            var = f"v{index}"
            condition, value = self._fast_leaf(named, var, nullable)
            if condition is None:
                return None
            reads.append(f"{var} = src.{python_name}")
            checks.append(f"({condition})")
            items.append(f"{key!r}: {value}")
        if not reads or object_type.is_type_of is not None:
            return None
        return reads, " and ".join(checks), "{" + ", ".join(items) + "}"

    def _field(
        self,
        lines: list[str],
        parent: GraphQLObjectType,
        key: str,
        details: FieldDetailsList,
        getter: str | None = None,
    ) -> None:
        first = details[0]
        node = first.node
        field_name = node.name.value
        if first.fragment_variable_values is not None:
            raise UnsupportedOperationError("fragment arguments run on the reference executor")
        if field_name == "__typename":
            lines.append(f"    out[{key!r}] = {parent.name!r}")
            return
        if field_name in META_FIELDS:
            raise UnsupportedOperationError("introspection runs on the reference executor")
        definition = self.schema.get_field(parent, field_name)
        if definition is None:
            return  # graphql-core leaves an unknown field out (validation prevents it)
        field = _Field(parent, field_name, definition, details)
        self._fields.append(field)
        get = getter if getter is not None else self._getter(field, key)
        return_type: Any = definition.type
        nullable = not is_non_null_type(return_type)
        inner_type = return_type if nullable else return_type.of_type
        fast, fast_value = self._fast_leaf(inner_type, "v", nullable)
        resume = self._continuation(field, self._complete(return_type, field), nullable)
        nodes = self.const(field.nodes, "n")
        k = repr(key)
        lines.append("    try:")
        lines.append(f"        v = {get}")
        branch = "if"
        if fast is not None:
            lines.append(f"        if {fast}: out[{k}] = {fast_value}")
            branch = "elif"
        if is_list_type(inner_type):
            lines.append(f"        {branch} v.__class__ not in SYNC_L and AWL(v):")
        else:
            lines.append(f"        {branch} v.__class__ not in SYNC and AW(v):")
        lines.append(f"            out[{k}] = None")
        lines.append(f"            r.defer(v, {resume}, out, {k}, (path, {k}), bnd)")
        if nullable:
            complete = self._complete(return_type, field)
            lines.append("        else:")
            lines.append(f"            kp = (path, {k})")
            lines.append(f"            out[{k}] = {complete}(v, kp, r, (out, kp), out)")
            lines.append("    except Exception as e:")
            lines.append(f"        out[{k}] = None")
            lines.append(f"        kp = (path, {k})")
            lines.append(f"        r.add(r.error_at(e, {nodes}, kp), kp)")
            return
        # Non-null: the null check inline, then straight into the inner completion
        # (an object's own function, skipping the wrappers the continuation uses).
        message = f"Cannot return null for non-nullable field {parent}.{field_name}."
        lines.append(f"        elif v is None or v is Undefined: raise TypeError({message!r})")
        if is_object_type(inner_type):
            target = self._object_of(inner_type, field)
            lines.append("        else:")
            lines.append("            if v.__class__ not in NE: NX(v)")
            lines.append(f"            out[{k}] = {target}(v, (path, {k}), r, bnd)")
        else:
            inner = self._complete(inner_type, field)
            lines.append(f"        else: out[{k}] = {inner}(v, (path, {k}), r, bnd, out)")
        lines.append("    except Exception as e:")
        lines.append(f"        raise r.error_at(e, {nodes}, (path, {k})) from None")

    def _fast_leaf(self, named: Any, var: str, nullable: bool) -> tuple[str | None, str]:
        """(condition, value) for a leaf value whose output needs no coercion call: a
        built-in scalar already in its JSON form, or a member of a Strawberry enum
        (its name, from a table checked against the type's own serializer)."""
        condition = _FAST_LEAVES.get(named)
        value = var
        if condition is None and isinstance(named, GraphQLEnumType):
            table = _enum_names(named)
            if table is not None:
                members, names = table
                condition = f"{{v}}.__class__ is {self.const(members, 'enum')}"
                value = f"{self.const(names, 'names')}[{var}]"
        if condition is None:
            return None, var
        condition = condition.format(v=var)
        if nullable:
            condition = f"{var} is None or {condition}"
            if value != var:
                value = f"(None if {var} is None else {value})"
        return condition, value

    def _getter(self, field: _Field, key: str) -> str:
        """The expression reading the field's value from `src`."""
        definition = field.definition
        strawberry_field = (definition.extensions or {}).get(STRAWBERRY_DEFINITION)
        node = field.nodes[0]
        has_args = bool(definition.args or node.arguments)
        if (
            strawberry_field is not None
            and strawberry_field.base_resolver is None
            and not strawberry_field.extensions
            and not has_args
        ):
            python_name = strawberry_field.python_name
            if python_name.isidentifier() and not keyword.iskeyword(python_name):
                return f"src.{python_name}"
            return f"getattr(src, {python_name!r})"
        resolve = definition.resolve
        if resolve is None:
            raise UnsupportedOperationError(f"{field.parent.name}.{field.name} has no resolver")
        full_info = (
            f"r.field_info({self.const(definition, 'fd')}, {field.name!r},"
            f" {self.const(field.nodes, 'n')}, {self.const(field.parent, 't')}, (path, {key!r}))"
        )
        # The request's shared info (no per-call path, nodes or parent type) is enough
        # for a resolver that reads nothing of it but `.context`; any other gets its
        # own, as graphql-core builds it. Sampled requests always get their own.
        shared = _reads_only_context(_resolver_function(resolve, strawberry_field))
        dynamic = has_args and _uses_variables(node)
        direct = getattr(resolve, "vitrine_direct", None)
        if shared and direct is None and _is_metered(strawberry_field):
            # Called through Strawberry's resolver and its `@traced` wrapper, which names
            # its duration after the info's parent type and field: the shared info has
            # neither. (Such fields take enum or input arguments: root fields, one call.)
            shared = False
        info = f"({full_info} if tr else info)" if shared else full_info
        if direct is not None:
            key = f"{field.parent.name}.{field.name}"
            return self._direct_call(direct, definition, node, info, has_args, key, dynamic)
        call = f"{self.const(resolve, 'res')}(src, {info}"
        if not has_args:
            return call + ")"
        if dynamic:
            return (
                f"{call}, **GA({self.const(definition, 'fd')}, {self.const(node, 'node')},"
                " r.variables))"
            )
        try:
            arguments = get_argument_values(definition, node, None)
        except GraphQLError as error:  # the reference executor reports it per request
            raise UnsupportedOperationError(
                "an argument literal that does not coerce", error.message
            ) from None
        if not arguments:
            return call + ")"
        if not _shareable(arguments):  # a list or an input object: fresh for each call
            return f"{call}, **GA({self.const(definition, 'fd')}, {self.const(node, 'node')}))"
        return f"{call}, **{self.const(arguments, 'args')})"

    def _direct_call(
        self,
        direct: Any,
        definition: GraphQLField,
        node: Any,
        info: str,
        has_args: bool,
        key: str,
        dynamic: bool = False,
    ) -> str:
        """Call the resolver function itself (not the schema's wrapper of it), and on an
        unsampled request without its span: its `vitrine_metered` form, which only
        records its duration under `key` ("Parent.field"), known here once, so that it
        needs no resolve info of its own. `dynamic`: its arguments use variables, read
        per call (and renamed to the function's parameters)."""
        function, takes_info, names = direct
        metered = getattr(function, "vitrine_metered", None)
        untraced = getattr(function, "vitrine_untraced", None)
        target = self.const(function, "fn")
        if metered is not None and takes_info:
            target = f"({self.const(metered(key), 'fn')} if not tr else {target})"
        elif untraced is not None:
            target = f"({self.const(untraced, 'fn')} if not tr else {target})"
        call = f"{target}(src, {info}" if takes_info else f"{target}(src"
        if not has_args:
            return call + ")"
        if dynamic:

            def by_parameter(values: dict[str, Any]) -> dict[str, Any]:
                return {names[name]: value for name, value in values.items()}

            return (
                f"{call}, **{self.const(by_parameter, 'rn')}(GA({self.const(definition, 'fd')},"
                f" {self.const(node, 'node')}, r.variables)))"
            )
        try:
            arguments = get_argument_values(definition, node, None)
        except GraphQLError as error:
            raise UnsupportedOperationError(
                "an argument literal that does not coerce", error.message
            ) from None
        renamed = {names[name]: value for name, value in arguments.items()}
        if not renamed:
            return call + ")"
        if not _shareable(renamed):  # fresh for each call, as graphql-core builds them

            def rename(values: dict[str, Any]) -> dict[str, Any]:
                return {names[name]: value for name, value in values.items()}

            return (
                f"{call}, **{self.const(rename, 'rn')}(GA({self.const(definition, 'fd')},"
                f" {self.const(node, 'node')})))"
            )
        return f"{call}, **{self.const(renamed, 'args')})"

    # -- completion -----------------------------------------------------------------

    def _complete(self, return_type: Any, field: _Field) -> str:
        """A function `(v, path, r, bnd) -> completed value` for `return_type` (one per
        field and type: the inline path and the continuation share it)."""
        memo_key = (id(field), str(return_type))
        found = self._completions.get(memo_key)
        if found is None:
            found = self._completions[memo_key] = self._new_completion(return_type, field)
        return found

    def _object_of(self, object_type: GraphQLObjectType, field: _Field) -> str:
        """The function of `field`'s selection on `object_type` (made once per field)."""
        memo_key = (id(field), f"object {object_type.name}")
        found = self._completions.get(memo_key)
        if found is None:
            grouped = self._subfields(object_type, field)
            found = self._completions[memo_key] = self._object(object_type, grouped, field)
        return found

    def _new_completion(self, return_type: Any, field: _Field) -> str:
        if is_non_null_type(return_type):
            inner = self._complete(return_type.of_type, field)
            message = f"Cannot return null for non-nullable field {field.parent}.{field.name}."
            name = self._name("cnn")
            self.chunks.append(
                f"def {name}(v, path, r, bnd, c=None):\n"
                "    if v is None or v is Undefined:\n"
                f"        raise TypeError({message!r})\n"
                f"    return {inner}(v, path, r, bnd, c)"
            )
            return name
        if is_list_type(return_type):
            return self._list(return_type, field)
        if is_leaf_type(return_type):
            name = self._name("cs")
            leaf = self.const(return_type, "leaf")
            self.chunks.append(
                f"def {name}(v, path, r, bnd, c=None):\n"
                "    if v.__class__ not in NE: NX(v)\n"
                "    if v is None or v is Undefined: return None\n"
                f"    c = {leaf}.coerce_output_value(v)\n"
                "    if c is None or c is Undefined:\n"
                f"        raise TypeError(f'Expected `{{inspect({leaf})}}.coerce_output_value('\n"
                "            f'{inspect(v)})` to return non-nullable value,'\n"
                "            f' returned: {inspect(c)}')\n"
                "    return c"
            )
            self.namespace["inspect"] = inspect
            return name
        if is_abstract_type(return_type):
            return self._abstract(return_type, field)
        assert is_object_type(return_type)
        target = self._object_of(return_type, field)
        name = self._name("co")
        self.chunks.append(
            f"def {name}(v, path, r, bnd, c=None):\n"
            "    if v.__class__ not in NE: NX(v)\n"
            "    if v is None or v is Undefined: return None\n"
            f"    return {target}(v, path, r, bnd)"
        )
        return name

    def _subfields(self, object_type: GraphQLObjectType, field: _Field) -> dict[str, Any]:
        collected = collect_subfields(
            self.schema,
            self.fragments,
            self.directive_values,
            self.operation,
            object_type,
            field.details,
        )
        self._check_collected(collected)
        return dict(collected.grouped_field_set)

    def _abstract(self, return_type: Any, field: _Field) -> str:
        dispatch = {
            possible.name: self._object_of(possible, field)
            for possible in self.schema.get_possible_types(return_type)
        }
        table = "{" + ", ".join(f"{k!r}: {v}" for k, v in dispatch.items()) + "}"
        resolve_type = return_type.resolve_type or default_type_resolver
        name = self._name("ca")
        definition = self.const(field.definition, "fd")
        nodes = self.const(field.nodes, "n")
        parent = self.const(field.parent, "t")
        abstract = self.const(return_type, "t")
        # A resolve_type answering with an awaitable: the value is completed once the
        # type name settles (the slot holds None until then).
        resume = self._name("kab")
        self.chunks.append(
            f"def {resume}(future, r, out, key, path, bnd, v):\n"
            "    try:\n"
            f"        runtime_type = EVRT(r.schema, future.result(), {abstract}, {parent},"
            f" {field.name!r}, {nodes}, v)\n"
            f"        out[key] = {table}[runtime_type.name](v, path, r, bnd)\n"
            "    except Exception as e:\n"
            f"        error = r.error_at(e, {nodes}, path)\n"
            "        if bnd is not None and bnd[1] == path:  # a nullable position: its own\n"
            "            out[key] = None\n"
            "            r.add(error, path)\n"
            "        else:\n"
            "            r.propagate(error, bnd)"
        )
        self.chunks.append(
            f"def {name}(v, path, r, bnd, c=None):\n"
            "    if v.__class__ not in NE: NX(v)\n"
            "    if v is None or v is Undefined: return None\n"
            f"    info = r.field_info({definition}, {field.name!r}, {nodes}, {parent}, path)\n"
            f"    name = {self.const(resolve_type, 'rt')}(v, info, {abstract})\n"
            "    if name.__class__ not in SYNC and AW(name):\n"
            "        if c is None:\n"
            "            raise GraphQLError('an asynchronous resolve_type is not supported"
            f" here by compiled plans', {nodes})\n"
            f"        r.defer(name, {resume}, c, path[1], path, bnd, v)\n"
            "        return None\n"
            f"    runtime_type = EVRT(r.schema, name, {abstract}, {parent},"
            f" {field.name!r}, {nodes}, v)\n"
            f"    return {table}[runtime_type.name](v, path, r, bnd)"
        )
        return name

    def _list(self, return_type: GraphQLList[Any], field: _Field) -> str:
        item_type = return_type.of_type
        nullable = not is_non_null_type(item_type)
        named = item_type if nullable else item_type.of_type
        fast, fast_value = self._fast_leaf(named, "item", nullable)
        complete = self._complete(item_type, field)
        resume = self._continuation(field, complete, nullable)
        nodes = self.const(field.nodes, "n")
        message = (
            f"Expected Iterable, but did not find one for field '{field.parent}.{field.name}'."
        )
        name = self._name("cl")
        lines = [
            f"def {name}(v, path, r, bnd, c=None):",
            "    if v.__class__ not in NE: NX(v)",
            "    if v is None or v is Undefined: return None",
            "    if v.__class__ is not list and v.__class__ is not tuple:",
            f"        if not is_iterable(v): raise GraphQLError({message!r})",
            "        v = list(v)",
            "    out = [None] * len(v)",
            "    for i, item in enumerate(v):",
            "        try:",
        ]
        branch = "if"
        if fast is not None:
            lines.append(f"            if {fast}: out[i] = {fast_value}")
            branch = "elif"
        lines.append(f"            {branch} item.__class__ not in SYNC_L and AWL(item):")
        lines.append(f"                r.defer(item, {resume}, out, i, (path, i), bnd)")
        lines.append("            else:")
        if nullable:
            lines.append("                ip = (path, i)")
            lines.append(f"                out[i] = {complete}(item, ip, r, (out, ip), out)")
            lines.append("        except Exception as e:")
            lines.append("            ip = (path, i)")
            lines.append(f"            r.add(r.error_at(e, {nodes}, ip), ip)")
        elif is_object_type(named):
            # Straight into the object's function, as for a non-null field; an object of
            # fast plain fields is built right here when its item is of a class known
            # to be neither awaitable nor an exception.
            message = f"Cannot return null for non-nullable field {field.parent}.{field.name}."
            target = self._object_of(named, field)
            plain = self._plain_objects.get(target)
            if plain is not None:
                reads, checks, display = plain
                names = ", ".join(f"v{index}" for index in range(len(reads)))
                rest = f"{target}_rest(item, (path, i), r, bnd"
                inline = [
                    "            if item.__class__ in NE and item.__class__ in SYNC_L:",
                    f"                {' = '.join(n.strip() for n in names.split(','))} = UNREAD",
                    "                try:",
                    *(f"                    {read.replace('src.', 'item.')}" for read in reads),
                    "                except Exception as e:",
                    f"                    out[i] = {rest}, e, {names})",
                    "                    continue",
                    f"                if {checks}:",
                    f"                    out[i] = {display}",
                    "                else:",
                    f"                    out[i] = {rest}, None, {names})",
                    "                continue",
                ]
                lines[lines.index("        try:") + 1 : lines.index("        try:") + 1] = inline
            lines[-1] = "            elif item is None or item is Undefined:"
            lines.append(f"                raise TypeError({message!r})")
            lines.append("            else:")
            lines.append("                if item.__class__ not in NE: NX(item)")
            lines.append(f"                out[i] = {target}(item, (path, i), r, bnd)")
            lines.append("        except Exception as e:")
            lines.append(f"            raise r.error_at(e, {nodes}, (path, i)) from None")
        else:
            lines.append(f"                out[i] = {complete}(item, (path, i), r, bnd, out)")
            lines.append("        except Exception as e:")
            lines.append(f"            raise r.error_at(e, {nodes}, (path, i)) from None")
        lines.append("    return out")
        self.chunks.append("\n".join(lines))
        return name

    def _continuation(self, field: _Field, complete: str, nullable: bool) -> str:
        """The function completing a deferred value: `(future, r, out, key, path, bnd)`."""
        name = self._name("k")
        nodes = self.const(field.nodes, "n")
        if nullable:
            body = (
                "    try:\n"
                f"        out[key] = {complete}(future.result(), path, r, (out, path), out)\n"
                "    except Exception as e:\n"
                "        out[key] = None\n"
                f"        r.add(r.error_at(e, {nodes}, path), path)"
            )
        else:
            body = (
                "    try:\n"
                f"        out[key] = {complete}(future.result(), path, r, bnd, out)\n"
                "    except Exception as e:\n"
                f"        r.propagate(r.error_at(e, {nodes}, path), bnd)"
            )
        self.chunks.append(f"def {name}(future, r, out, key, path, bnd):\n{body}")
        return name


_IMMUTABLE = (str, int, float, bool, Decimal, Enum, type(None))


def _immutable(value: Any) -> bool:
    """Whether an argument value can be shared by every call: graphql-core builds fresh
    ones per call, and a resolver may mutate a list or dict it is given."""
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return isinstance(value, _IMMUTABLE)


def _shareable(arguments: dict[str, Any]) -> bool:
    return all(_immutable(value) for value in arguments.values())


def _resolver_function(resolve: Any, strawberry_field: Any) -> tuple[Any, str | None] | None:
    """The Python function behind a field's resolver, and the name of its info parameter."""
    direct = getattr(resolve, "vitrine_direct", None)
    if direct is not None:
        function = direct[0]
        resolver = strawberry_field.base_resolver if strawberry_field is not None else None
    elif strawberry_field is not None and strawberry_field.base_resolver is not None:
        resolver = strawberry_field.base_resolver
        if strawberry_field.extensions:
            return None
        function = resolver.wrapped_func
    else:
        return None
    function = getattr(function, "vitrine_untraced", function)
    parameter = resolver.info_parameter if resolver is not None else None
    return function, (parameter.name if parameter is not None else None)


def _is_metered(strawberry_field: Any) -> bool:
    """Whether a field's resolver is `@traced` (it measures itself on every request)."""
    resolver = getattr(strawberry_field, "base_resolver", None)
    return resolver is not None and hasattr(resolver.wrapped_func, "vitrine_metered")


def _reads_only_context(found: tuple[Any, str | None] | None) -> bool:
    """Whether the function takes no info, or uses it only as `info.context`.

    Read from the function's own bytecode (not its source file, which may have
    changed on disk): every load of the parameter must be followed by loading
    its `context` attribute. A decorated function (`__wrapped__`) is not
    analysed: its wrapper may read anything."""
    if found is None:
        return False
    function, parameter = found
    if parameter is None:
        return True
    code = getattr(function, "__code__", None)
    if code is None or hasattr(function, "__wrapped__"):
        return False
    if parameter in code.co_cellvars:  # captured by a nested function or lambda
        return False
    instructions = list(dis.get_instructions(code))
    for index, instruction in enumerate(instructions):
        if instruction.opname.startswith("LOAD_FAST") and instruction.argval == parameter:
            following = instructions[index + 1] if index + 1 < len(instructions) else None
            if following is None or following.opname != "LOAD_ATTR":
                return False
            if following.argval != "context":
                return False
        elif instruction.opname.startswith(("STORE_FAST", "DELETE_FAST")) and (
            instruction.argval == parameter
        ):
            return False
    return True


def _enum_names(enum_type: GraphQLEnumType) -> tuple[type, dict[Any, str]] | None:
    """The Python enum class behind a GraphQL enum and each member's output, when every
    value is a member of that one class and serializes to its GraphQL name."""
    members = [value.value for value in enum_type.values.values()]
    classes = {member.__class__ for member in members}
    if len(classes) != 1:
        return None
    (cls,) = classes
    if not issubclass(cls, Enum) or len(members) != len(cls):
        return None
    names = {}
    for name, value in enum_type.values.items():
        try:
            if enum_type.coerce_output_value(value.value) != name:
                return None
        except Exception:
            return None
        names[value.value] = name
    return cls, names


class _VariableFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_variable(self, _node: VariableNode, *_args: Any) -> None:
        self.found = True


def _uses_variables(node: Any) -> bool:
    finder = _VariableFinder()
    for argument in node.arguments or ():
        visit(argument, finder)
    return finder.found
