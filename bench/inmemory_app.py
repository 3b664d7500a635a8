"""A bench-only ASGI app: a 400-field list from memory, executed three ways.

The plans phase (bench/plans_phase.py) compares executors without a
database: one root field returning the same 50 items of 8 scalar fields
(400 fields to resolve and complete), held in memory. The same uvicorn
process answers:

- `POST /reference`: graphql-core, the reference executor, on a parsed and
  validated document cached by its text (as the prepared-document cache
  does), through `infra.graphql_execution.execute_document` like the served
  endpoint, serialized with orjson;
- `POST /compiled`: the compiled plan of the same document
  (`persisted_queries.plans.compile_operation`, once per text), run by
  `CompiledOperation.execute`, serialized with orjson;
- `POST /floor`: plain Starlette, the request body read and a precomputed
  copy of the same answer sent back: what HTTP alone costs here.

The schema is built like the served one (Strawberry, then
`install_fast_resolvers`). Every endpoint reads and parses the request body
(`{"query": ..., "variables": ...}`) except the floor, which only reads it.
bench/node_jit/server.mjs serves the same list with graphql-jit; its items
come from `item_values()` through a JSON file, so both sides hold the same
data. Run it with `uvicorn bench.inmemory_app:app` (the phase does).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import strawberry
from graphql import DocumentNode, ExecutionResult, GraphQLError, parse, specified_rules, validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from infra.graphql_execution import execute_document
from persisted_queries.plans import CompiledOperation, compile_operation
from schema.fast_fields import install_fast_resolvers

ITEM_COUNT = 50
FIELDS = ("id", "name", "sku", "price", "quantity", "rating", "inStock", "category")
QUERY = "query InMemoryList { items { " + " ".join(FIELDS) + " } }"
CATEGORIES = ("mugs", "vases", "plates", "bowls")
JSON_TYPE = "application/json"


def item_values(count: int = ITEM_COUNT) -> list[dict[str, Any]]:
    """The items as GraphQL would answer them (fields in QUERY's order): the data of
    every endpoint here and of the graphql-jit server."""
    return [
        {
            "id": f"item-{i}",
            "name": f"Stoneware item number {i}",
            "sku": f"SKU-{i:05d}",
            "price": round(4.99 + i * 1.25, 2),
            "quantity": i * 7 % 101,
            "rating": round(1 + (i * 37 % 40) / 10, 1),
            "inStock": i % 3 != 0,
            "category": CATEGORIES[i % len(CATEGORIES)],
        }
        for i in range(1, count + 1)
    ]


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    sku: str
    price: float
    quantity: int
    rating: float
    in_stock: bool
    category: str


ITEMS = [
    Item(
        id=strawberry.ID(v["id"]),
        name=v["name"],
        sku=v["sku"],
        price=v["price"],
        quantity=v["quantity"],
        rating=v["rating"],
        in_stock=v["inStock"],
        category=v["category"],
    )
    for v in item_values()
]


def _items(root: Any) -> list[Item]:
    return ITEMS


@strawberry.type
class Query:
    items: list[Item] = strawberry.field(resolver=_items)


def build_schema() -> strawberry.Schema:
    schema = strawberry.Schema(query=Query)
    install_fast_resolvers(schema._schema)
    return schema


SCHEMA = build_schema()
# The answer every endpoint must send, byte for byte (the floor sends it as is).
ANSWER = orjson.dumps({"data": {"items": item_values()}})


class Documents:
    """Parsed and validated documents, and their compiled plans, by query text."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self.schema = schema
        self._documents: dict[str, DocumentNode] = {}
        self._plans: dict[str, CompiledOperation] = {}

    def document(self, query: str) -> DocumentNode:
        found = self._documents.get(query)
        if found is None:
            found = parse(query)
            errors = validate(self.schema._schema, found, specified_rules)
            if errors:
                raise errors[0]
            self._documents[query] = found
        return found

    def plan(self, query: str) -> CompiledOperation:
        found = self._plans.get(query)
        if found is None:
            found = self._plans[query] = compile_operation(
                self.schema._schema, self.document(query), None
            )
        return found


DOCUMENTS = Documents(SCHEMA)


def _encode(result: ExecutionResult) -> bytes:
    if result.errors:
        return orjson.dumps({"errors": [e.formatted for e in result.errors], "data": result.data})
    return orjson.dumps({"data": result.data})


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content, status, media_type=JSON_TYPE)


async def answer_reference(raw: bytes) -> bytes:
    """A request body in, the answer out, on graphql-core (what /reference does)."""
    body = orjson.loads(raw)
    document = DOCUMENTS.document(body["query"])
    return _encode(await execute_document(SCHEMA, document, None, body.get("variables")))


async def answer_compiled(raw: bytes) -> bytes:
    """A request body in, the answer out, on the compiled plan (what /compiled does)."""
    body = orjson.loads(raw)
    result = await DOCUMENTS.plan(body["query"]).execute(None, body.get("variables"))
    if result is None:  # a variant the compiler cannot make: never for this document
        raise RuntimeError("no compiled plan")
    return _encode(result)


async def _answered(request: Request, answer: Callable[[bytes], Awaitable[bytes]]) -> Response:
    try:
        return _json(await answer(await request.body()))
    except GraphQLError as error:
        return _json(orjson.dumps({"errors": [error.formatted]}), 400)


async def reference(request: Request) -> Response:
    return await _answered(request, answer_reference)


async def compiled(request: Request) -> Response:
    return await _answered(request, answer_compiled)


async def floor(request: Request) -> Response:
    await request.body()
    return _json(ANSWER)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


starlette_app = Starlette(
    routes=[
        Route("/reference", reference, methods=["POST"]),
        Route("/compiled", compiled, methods=["POST"]),
        Route("/floor", floor, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)

_HEADERS = [(b"content-type", JSON_TYPE.encode()), (b"content-length", b"")]


class Edge:
    """POST /compiled and /reference answered at the ASGI edge, as Vitrine's
    `GraphQLEdge` answers /graphql: no router, no middleware, no Request or
    Response objects. The floor stays on Starlette, as the served app's
    floor does; `/starlette/compiled` keeps the routed path for comparison."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.answers = {"/compiled": answer_compiled, "/reference": answer_reference}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        answer = self.answers.get(scope["path"]) if scope["type"] == "http" else None
        if answer is None or scope["method"] != "POST":
            if scope.get("path", "").startswith("/starlette/"):
                scope = dict(scope, path=scope["path"][len("/starlette") :])
            await self.inner(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        status = 200
        try:
            body = await answer(b"".join(chunks))
        except GraphQLError as error:
            status, body = 400, orjson.dumps({"errors": [error.formatted]})
        headers = [_HEADERS[0], (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


app = Edge(starlette_app)


def execution_costs(
    raw: bytes, *, batches: int = 15, batch: int = 100, warmup: int = 1000
) -> dict[str, float]:
    """Microseconds per request body answered in this process, without HTTP: JSON in,
    execute, JSON out (the median of `batches` batch means, after `warmup` calls)."""

    async def measure(answer: Callable[[bytes], Awaitable[bytes]]) -> float:
        for _ in range(warmup):
            await answer(raw)
        means = []
        for _ in range(batches):
            started = time.perf_counter_ns()
            for _ in range(batch):
                await answer(raw)
            means.append((time.perf_counter_ns() - started) / batch / 1000)
        means.sort()
        return round(means[len(means) // 2], 1)

    async def both() -> dict[str, float]:
        return {
            "reference": await measure(answer_reference),
            "compiled": await measure(answer_compiled),
        }

    return asyncio.run(both())


# As the served app does once started (infra.app): long-lived objects out of the
# cyclic collector's reach.
gc.collect()
gc.freeze()
