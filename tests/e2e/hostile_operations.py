"""Hostile GraphQL requests generated from the served schema, for the hostile-input e2e test.

`hypothesis-graphql` writes operations (valid ones, and ones with one schema
violation) whose argument values come from strategies that mix the served
world's real slugs, ids and cursors with what an attacker sends: huge and
empty strings, NUL and other control characters, unicode, SQL and format
string fragments, ints at and past the 32-bit edges, ids of the wrong type
or of nothing, and cursors that decode to keys of the wrong types. Each
document is then decorated (aliases, `__typename`, named fragments,
`@skip`/`@include` on literals and variables), some argument values move
into variables (some of those replaced by values of the wrong type), and the
request gets an identity, a method, an `Accept` and an operation name.

Every request says what it should come to (`Expect`), so the test can check
exact statuses and codes rather than only "not a 500".
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from dataclasses import dataclass
from typing import Any

import graphql
import hypothesis_graphql
import orjson
from hypothesis import strategies as st

IDENTITIES = ("anonymous", "customer", "creator", "admin", "service")
MODERN = "application/graphql-response+json"
LEGACY = "application/json"
OPERATION_NAME = "Hostile"
MAX_GET_CHARACTERS = 6000

HUGE = "x" * 100_000
HOSTILE_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\r\n",
    "\x7f\x1b[31m",
    "'; DROP TABLE products; --",
    "' OR '1'='1",
    "%s%s%n",
    "{0}{1}",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\\",
    '"',
    "\u202e\u200b\ufeff",
    "\U0001d54d\U0001f600",
    "\ufffd",
    "null",
    "NaN",
    "-0",
    "1e309",
    "9" * 400,
    "mug" * 70,
    # Every 61st code point of the BMP but surrogates, then some of the astral planes.
    "".join(chr(c) for c in range(1, 0xD800, 61)),
    "".join(chr(c) for c in range(0xE000, 0x110000, 4099)),
    HUGE,
)
INT_EDGES = (0, -1, 1, 3, 4, 100, 101, 1000, 2**31 - 1, -(2**31))
# Past the 32-bit Int: refused by GraphQL's Int, in a literal or a variable.
INT_PAST_EDGES = (2**31, -(2**31) - 1, 2**63, 10**30)
# Values the scalars accept, however odd (the scalars refuse NaN, infinities, bad dates).
DECIMALS = ("0", "-0", "-1", "0.01", "12.5", "1e3", "1E-7", "1e999999", "-1e-999999", "1" * 200)
DATES = ("2026-10-01", "2026-11-22", "0001-01-01", "9999-12-31", "20261001")
DATE_TIMES = ("2026-10-01T00:00:00Z", "2026-10-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00")
# Values they refuse, for variables: a request error, never a 500.
BAD_SCALARS = ("NaN", "-Infinity", "1e", "2026-02-30", "0001-01-01T00:00:00+14:00", "", "today")
NODE_TYPES = (
    "Product",
    "Store",
    "Category",
    "Collection",
    "Creator",
    "Promotion",
    "Post",
    "Insight",
)


class Expect(enum.Enum):
    """What a generated request must come to."""

    # Ran: 200 with `data` (field errors allowed, each with a client-facing code).
    EXECUTED = "executed"
    # Never ran: a GraphQL request error (400 modern, 200 legacy), no `data`.
    VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    BAD_REQUEST = "BAD_REQUEST"
    # An HTTP-level refusal: a mutation over GET.
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"


@dataclass(frozen=True)
class World:
    """Values of the served world that make generated arguments find rows."""

    strings: tuple[str, ...]
    ids: tuple[str, ...]
    cursors: tuple[str, ...]


@dataclass(frozen=True)
class HostileRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    identity: str
    method: str
    accept: str
    expect: Expect
    # JSON with every non-ASCII character escaped, or sent as UTF-8.
    ascii_json: bool = True

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            payload["variables"] = self.variables
        if self.operation_name is not None:
            payload["operationName"] = self.operation_name
        return payload

    def body(self) -> bytes:
        """The POST body (stdlib json: it writes ints past 64 bits, as a client may)."""
        return json.dumps(self.payload(), ensure_ascii=self.ascii_json).encode()

    def params(self) -> dict[str, str]:
        """The GET parameters, `variables` as JSON."""
        params = {"query": self.query}
        if self.variables is not None:
            params["variables"] = json.dumps(self.variables, ensure_ascii=self.ascii_json)
        if self.operation_name is not None:
            params["operationName"] = self.operation_name
        return params


def global_id(type_name: str, source_id: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{source_id}".encode()).rstrip(b"=").decode()


def cursor_of(values: list[Any]) -> str:
    """A cursor as the API encodes them (base64url JSON); stdlib json for ints past 64 bits."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def cursor_values(cursor: str) -> list[Any] | None:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        return None
    return values if isinstance(values, list) else None


# -- argument values ---------------------------------------------------------------------------


# Values that stand for any JSON value in a cursor's key or a variable of the wrong type.
JSON_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    *INT_EDGES,
    *INT_PAST_EDGES,
    2**70,
    -(2**70),
    0.5,
    -1e308,
    1e-320,
    [],
    {},
    [[None]],
    {"a": [1]},
    *HOSTILE_TEXT[:-1],
    *DECIMALS,
    *DATE_TIMES,
    *BAD_SCALARS,
)
SOURCE_IDS = ("p-1", "s-1", "cr-1", "c-1", "pr-1", "nope", "1", "-1", "x" * 201, *HOSTILE_TEXT[:-1])


def hostile_cursors(world: World) -> tuple[str, ...]:
    """The world's cursors; each of a few of them with one key value replaced by every
    JSON value, cut short or lengthened; and cursors of bare JSON values."""
    cursors = list(world.cursors)
    for cursor in world.cursors[:: max(1, len(world.cursors) // 8)]:
        values = cursor_values(cursor) or []
        for index in range(len(values)):
            cursors += [cursor_of([*values[:index], v, *values[index + 1 :]]) for v in JSON_VALUES]
        cursors += [cursor_of(values[:-1]), cursor_of([*values, "p-1"]), cursor_of(values[:1])]
    cursors += [cursor_of([value]) for value in JSON_VALUES]
    return tuple(dict.fromkeys(cursors))


def hostile_ids(world: World) -> tuple[str, ...]:
    """The world's ids; ids of every node type (and of none) for odd source ids."""
    made = [
        global_id(type_name, source_id)
        for type_name in (*NODE_TYPES, "User", "", "product")
        for source_id in SOURCE_IDS
    ]
    return tuple(dict.fromkeys([*world.ids, *made, *HOSTILE_TEXT]))


def _string_node(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


def _int_node(value: int) -> graphql.IntValueNode:
    return graphql.IntValueNode(value=str(value))


def scalar_strategies(world: World) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Literal values per scalar, each one its scalar accepts (so a valid document stays
    valid); `String` arguments also get cursors (every `after` is one). Pools are built
    once: a draw from one costs the generator a single choice."""
    strings = (*world.strings, *HOSTILE_TEXT, *hostile_cursors(world))
    return {
        "String": st.one_of(st.sampled_from(strings), st.text(max_size=8)).map(_string_node),
        "ID": st.one_of(st.sampled_from(hostile_ids(world)), st.text(max_size=8)).map(_string_node),
        "Int": st.one_of(st.sampled_from(INT_EDGES), st.integers(-(2**31), 2**31 - 1)).map(
            _int_node
        ),
        "Decimal": st.sampled_from(DECIMALS).map(_string_node),
        "Date": st.sampled_from(DATES).map(_string_node),
        "DateTime": st.sampled_from(DATE_TIMES).map(_string_node),
    }


# -- variables ---------------------------------------------------------------------------------


def wrong_value(type_: graphql.GraphQLInputType, draw: st.DrawFn) -> Any:
    """A variable value that no coercion to `type_` accepts (so the request never runs)."""
    # A list type takes a lone item as a list of one: each value here is wrong as an item too.
    named = graphql.get_named_type(type_)
    if graphql.is_input_object_type(named):
        return draw(st.sampled_from([{"\x00unknown": 1}, 7, "x"]))
    if graphql.is_enum_type(named):
        return draw(st.sampled_from(["NOT_A_VALUE", 1, {"a": 1}, "featured"]))
    name = named.name
    if name == "Int":
        return draw(st.sampled_from([*INT_PAST_EDGES, 2**70, 1.5, 1e308, "1", True, [[1]]]))
    if name == "Boolean":
        return draw(st.sampled_from([1, 0, "true", [[True]], {"x": True}]))
    if name in ("String", "ID"):
        return draw(st.sampled_from([True, 1.5, {"x": "y"}, [["a"]]]))
    return draw(st.sampled_from([*BAD_SCALARS, {"x": "y"}, [["a"]], True]))


@dataclass
class _Lifting:
    """Moves argument literals into variables while walking a document with its types."""

    schema: graphql.GraphQLSchema
    draw: st.DrawFn
    definitions: list[graphql.VariableDefinitionNode] = dataclasses.field(default_factory=list)
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    tampered: bool = False

    def selection_set(
        self, selection_set: graphql.SelectionSetNode | None, parent: Any
    ) -> graphql.SelectionSetNode | None:
        if selection_set is None:
            return None
        out = []
        for selection in selection_set.selections:
            if isinstance(selection, graphql.FieldNode):
                out.append(self.field(selection, parent))
            elif isinstance(selection, graphql.InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                out.append(
                    dataclasses.replace(
                        selection, selection_set=self.selection_set(selection.selection_set, inner)
                    )
                )
            else:
                out.append(selection)
        return dataclasses.replace(selection_set, selections=tuple(out))

    def field(self, node: graphql.FieldNode, parent: Any) -> graphql.FieldNode:
        fields = getattr(parent, "fields", None) or {}
        definition = fields.get(node.name.value)
        if definition is None:  # __typename, or a violation of the negative mode
            return node
        arguments = tuple(
            self.argument(a, definition.args.get(a.name.value)) for a in node.arguments or ()
        )
        inner = graphql.get_named_type(definition.type)
        return dataclasses.replace(
            node, arguments=arguments, selection_set=self.selection_set(node.selection_set, inner)
        )

    def argument(
        self, node: graphql.ArgumentNode, definition: graphql.GraphQLArgument | None
    ) -> graphql.ArgumentNode:
        if definition is None or isinstance(node.value, graphql.VariableNode):
            return node
        if not self.draw(st.booleans()):
            return node
        name = f"v{len(self.definitions)}"
        if self.draw(st.sampled_from([False] * 7 + [True])):
            value = wrong_value(definition.type, self.draw)
            self.tampered = True
        else:
            value = graphql.value_from_ast_untyped(node.value)
        self.values[name] = value
        self.definitions.append(
            graphql.VariableDefinitionNode(
                variable=graphql.VariableNode(name=graphql.NameNode(value=name)),
                type=graphql.parse_type(str(definition.type)),
                directives=(),
            )
        )
        return dataclasses.replace(
            node, value=graphql.VariableNode(name=graphql.NameNode(value=name))
        )


def _decorate(
    document: graphql.DocumentNode, draw: st.DrawFn
) -> tuple[graphql.DocumentNode, dict[str, bool]]:
    """Aliases, `__typename`, named fragments and `@skip`/`@include` at drawn places."""
    fragments: list[graphql.FragmentDefinitionNode] = []
    conditions: dict[str, bool] = {}
    aliases = 0

    def condition() -> graphql.ValueNode:
        if draw(st.booleans()):
            return graphql.BooleanValueNode(value=draw(st.booleans()))
        name = f"if{len(conditions)}"
        conditions[name] = draw(st.booleans())
        return graphql.VariableNode(name=graphql.NameNode(value=name))

    def directives() -> tuple[graphql.DirectiveNode, ...]:
        name = draw(st.sampled_from(["skip", "include"]))
        argument = graphql.ArgumentNode(name=graphql.NameNode(value="if"), value=condition())
        return (graphql.DirectiveNode(name=graphql.NameNode(value=name), arguments=(argument,)),)

    def selections(selection_set: graphql.SelectionSetNode | None) -> Any:
        nonlocal aliases
        if selection_set is None:
            return None
        out: list[Any] = []
        for selection in selection_set.selections:
            changes: dict[str, Any] = {"selection_set": selections(selection.selection_set)}  # type: ignore[attr-defined]
            if draw(st.integers(0, 5)) == 0:
                changes["directives"] = directives()
            if isinstance(selection, graphql.FieldNode):
                if selection.alias is None and draw(st.integers(0, 4)) == 0:
                    aliases += 1
                    changes["alias"] = graphql.NameNode(value=f"a{aliases}_{selection.name.value}")
            elif (
                isinstance(selection, graphql.InlineFragmentNode)
                and selection.type_condition is not None
                and draw(st.booleans())
            ):
                name = f"F{len(fragments)}"
                fragments.append(
                    graphql.FragmentDefinitionNode(
                        name=graphql.NameNode(value=name),
                        type_condition=selection.type_condition,
                        selection_set=changes["selection_set"],
                        directives=(),
                    )
                )
                out.append(
                    graphql.FragmentSpreadNode(
                        name=graphql.NameNode(value=name),
                        directives=changes.get("directives", selection.directives),
                    )
                )
                continue
            out.append(dataclasses.replace(selection, **changes))
        if draw(st.integers(0, 3)) == 0:
            typename = graphql.FieldNode(name=graphql.NameNode(value="__typename"), directives=())
            out.insert(draw(st.integers(0, len(out))), typename)
        return dataclasses.replace(selection_set, selections=tuple(out))

    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    operation = dataclasses.replace(operation, selection_set=selections(operation.selection_set))
    return dataclasses.replace(document, definitions=(operation, *fragments)), conditions


def _boolean_variable(name: str) -> graphql.VariableDefinitionNode:
    return graphql.VariableDefinitionNode(
        variable=graphql.VariableNode(name=graphql.NameNode(value=name)),
        type=graphql.parse_type("Boolean!"),
        directives=(),
    )


# -- requests ----------------------------------------------------------------------------------


def hostile_requests(
    schema: graphql.GraphQLSchema, world: World
) -> st.SearchStrategy[HostileRequest]:
    """Requests over the whole served schema, valid and invalid, with hostile values."""
    scalars = scalar_strategies(world)
    valid = hypothesis_graphql.from_schema(schema, custom_scalars=scalars)
    invalid = hypothesis_graphql.from_schema(
        schema, custom_scalars=scalars, mode=hypothesis_graphql.Mode.NEGATIVE
    )
    # Three valid documents to one invalid: the valid ones reach the resolvers.
    documents = st.one_of(
        valid.map(lambda q: (q, True)),
        valid.map(lambda q: (q, True)),
        valid.map(lambda q: (q, True)),
        invalid.map(lambda q: (q, False)),
    )

    @st.composite
    def requests(draw: st.DrawFn) -> HostileRequest:
        text, is_valid = draw(documents)
        document = graphql.parse(text)
        lifting = _Lifting(schema, draw)
        operation = document.definitions[0]
        assert isinstance(operation, graphql.OperationDefinitionNode)
        # Only valid documents lift values: a violation moved into a variable would no
        # longer be a validation error but a variable one.
        if is_valid and draw(st.booleans()):
            root = schema.get_root_type(operation.operation)
            operation = dataclasses.replace(
                operation, selection_set=lifting.selection_set(operation.selection_set, root)
            )
        document, conditions = _decorate(
            dataclasses.replace(document, definitions=(operation,)), draw
        )
        operation = document.definitions[0]
        assert isinstance(operation, graphql.OperationDefinitionNode)
        definitions = (*lifting.definitions, *(_boolean_variable(n) for n in conditions))
        named = draw(st.integers(0, 3)) == 0
        operation = dataclasses.replace(
            operation,
            variable_definitions=definitions,
            name=graphql.NameNode(value=OPERATION_NAME) if named or definitions else None,
        )
        document = dataclasses.replace(document, definitions=(operation, *document.definitions[1:]))
        variables = {**lifting.values, **conditions} or None
        operation_name = None
        wrong_name = False
        if operation.name is not None and draw(st.booleans()):
            wrong_name = draw(st.sampled_from([False] * 7 + [True]))
            operation_name = "Nope" if wrong_name else OPERATION_NAME
        is_mutation = operation.operation is graphql.OperationType.MUTATION
        query = graphql.print_ast(document)
        # GET while the URL stays short enough for proxies (and httpx) to carry it.
        short = len(query) + len(json.dumps(variables)) < MAX_GET_CHARACTERS
        method = "GET" if short and draw(st.sampled_from([False] * 3 + [True])) else "POST"
        expect = _expected(
            is_valid=is_valid,
            tampered=lifting.tampered,
            wrong_name=wrong_name,
            over_get=method == "GET" and is_mutation,
        )
        return HostileRequest(
            query=query,
            variables=variables,
            operation_name=operation_name,
            identity=draw(st.sampled_from(IDENTITIES)),
            method=method,
            accept=draw(st.sampled_from([MODERN, LEGACY])),
            expect=expect,
            ascii_json=draw(st.booleans()),
        )

    return requests()


def _expected(*, is_valid: bool, tampered: bool, wrong_name: bool, over_get: bool) -> Expect:
    """The outcome the endpoint's order of checks gives. A document that does not validate
    is refused as such, unless it is a mutation over GET (405) whose operation is found;
    one that does: an unknown operation name first, then the method, then the variables."""
    if not is_valid:
        return (
            Expect.METHOD_NOT_ALLOWED if over_get and not wrong_name else Expect.VALIDATION_FAILED
        )
    if wrong_name:
        return Expect.BAD_REQUEST
    if over_get:
        return Expect.METHOD_NOT_ALLOWED
    if tampered:
        return Expect.BAD_USER_INPUT
    return Expect.EXECUTED


# -- the served world --------------------------------------------------------------------------

# What `world_of` reads the served world's ids, slugs, handles, tags and cursors from.
WORLD_QUERY = """{
  products(first: 30, sort: NEWEST) {
    edges { cursor node { id slug tags store { id slug owner { id handle } } category { id slug } } }
  }
  featured: products(first: 3) { edges { cursor } }
  cheapest: products(first: 3, sort: PRICE_ASC) { edges { cursor } }
  dearest: products(first: 3, sort: PRICE_DESC) { edges { cursor } }
  topRated: products(first: 3, sort: TOP_RATED) { edges { cursor } }
  bestSelling: products(first: 3, sort: BEST_SELLING) { edges { cursor } }
  categories { id slug children { id slug } }
  promotions(first: 5) { edges { cursor node { id } } }
  trending(first: 5) { id author { id handle posts(first: 3) { edges { cursor } } } }
}"""
# Asked with a creator's token: their insights' ids.
INSIGHTS_QUERY = "{ creatorDashboard { insights { id } } }"
_WORLD_STRINGS = ("slug", "handle", "tags")


def world_of(*answers: Any) -> World:
    """The ids, slugs, handles, tags and cursors found anywhere in `answers` (JSON data)."""
    strings: set[str] = set()
    ids: set[str] = set()
    cursors: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "id" and isinstance(item, str):
                    ids.add(item)
                elif key == "cursor" and isinstance(item, str):
                    cursors.add(item)
                elif key in _WORLD_STRINGS:
                    strings.update(item if isinstance(item, list) else [item])
                else:
                    walk(item)

    walk(list(answers))
    return World(tuple(sorted(strings)), tuple(sorted(ids)), tuple(sorted(cursors)))
