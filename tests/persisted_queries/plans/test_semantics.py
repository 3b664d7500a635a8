"""Compiled plans against the reference executor on the whole of GraphQL's execution semantics.

An in-memory Strawberry schema, built the way `schema.build` builds the served
one (with and without `install_fast_resolvers`), whose resolvers do every
thing a resolver can do: return plain values, raise, return errors, return
coroutines and asyncio futures (settled a chosen number of loop turns later,
so their order is deterministic), lists of them, nulls where the schema
forbids them, values their scalar cannot serialize, objects of the wrong type.
Every operation runs on both executors; the formatted responses must be the
same bytes, and so must the unmasked errors and the side effects.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, cast

import orjson
import pytest
import strawberry
from graphql import ExecutionResult, GraphQLError
from strawberry.extensions.field_extension import FieldExtension
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from infra.graphql_documents import DocumentCache, PreparedDocument
from infra.graphql_errors import format_error
from infra.graphql_execution import execute_document, in_response_order
from persisted_queries.plans import PlanCompiler
from schema.fast_fields import install_fast_resolvers
from schema.scalars import SCALAR_OVERRIDES

# -- the schema ------------------------------------------------------------------------


@dataclass
class Context:
    """What resolvers see as `info.context`: a log of side effects, and a tracer when the
    request is traced (as `RequestContext.tracer`; plans build resolver infos for it)."""

    log: list[str] = field(default_factory=list)
    tracer: object | None = None


Ctx = Info[Context, None]


def later(value: Any, hops: int = 1) -> asyncio.Future[Any]:
    """A future settled `hops` loop turns from now, with `value` (raised if an exception)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(remaining: int) -> None:
        if remaining > 1:
            loop.call_soon(settle, remaining - 1)
        elif isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)

    loop.call_soon(settle, max(1, min(hops, 8)))
    return future


def count_of(count: int) -> int:
    return max(0, min(count, 4))


class Shaky:
    """A value of the `Shaky` scalar: serializes to its text, or fails to."""

    def __init__(self, text: str | None) -> None:
        self.text = text


def serialize_shaky(value: Shaky) -> str | None:
    if value.text == "raise":
        raise ValueError("Shaky cannot serialize this")
    if value.text == "graphql-error":
        raise GraphQLError("Shaky refuses", extensions={"code": "SHAKY"})
    return value.text


def parse_shaky(value: Any) -> Shaky:
    if not isinstance(value, str):
        raise GraphQLError(f"Shaky: expected a string, got {value!r}")
    return Shaky(value)


SCALARS: dict[object, Any] = {
    **SCALAR_OVERRIDES,
    Shaky: strawberry.scalar(name="Shaky", serialize=serialize_shaky, parse_value=parse_shaky),
}


@strawberry.enum(name="Color")
class Color(Enum):
    RED = "red"
    GREEN = "green"
    BLUE = 3


@strawberry.input(name="Range")
class Range:
    low: int = 0
    high: int | None = None


@strawberry.input(name="Filter")
class Filter:
    name: str
    colors: list[Color] = strawberry.field(default_factory=lambda: [Color.RED])
    range: Range | None = None
    tags: list[str | None] | None = None


def show(value: Any) -> str:
    """A deterministic rendering of coerced argument values (as resolvers receive them)."""
    if value is None:
        return "null"
    if value is strawberry.UNSET:
        return "UNSET"
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, bool | int | float | Decimal | str):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, datetime):
        return f"datetime:{value.isoformat()}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, Range | Filter):
        fields = ", ".join(f"{k}={show(v)}" for k, v in vars(value).items())
        return f"{type(value).__name__}({fields})"
    raise AssertionError(f"unexpected argument value {value!r}")


@strawberry.interface(name="Animal")
class Animal:
    name: str

    @strawberry.field
    def greeting(self, punctuation: str = "!") -> str:
        return f"I am {self.name}{punctuation}"


@strawberry.type(name="Dog")
class Dog(Animal):
    good: bool = True


@strawberry.type(name="Cat")
class Cat(Animal):
    lives: int = 9


@strawberry.type(name="Bird")
class Bird:
    wingspan: float = 0.25


Pet = Annotated[Dog | Cat | Bird, strawberry.union("Pet")]


@dataclass
class SquareRow:
    side: float
    corners: int = 4


@dataclass
class TriangleRow:
    sides: list[float]
    corners: int = 3


@strawberry.interface(name="Shape")
class Shape:
    """Resolved as the served `Node` is: by each type's `is_type_of` over row classes."""

    corners: int


@strawberry.type(name="Square")
class Square(Shape):
    side: float

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, SquareRow)


@strawberry.type(name="Triangle")
class Triangle(Shape):
    sides: list[float]

    @strawberry.field
    def perimeter(self) -> float:
        return sum(self.sides)

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, TriangleRow)


@dataclass
class Tagged:
    """A row whose GraphQL type is named by `tag`, for `Labelled.resolve_type`."""

    tag: Any
    text: str = "tagged"


@strawberry.interface(name="Labelled")
class Labelled:
    text: str

    @classmethod
    def resolve_type(cls, obj: Any, _info: Any, _type: Any) -> Any:
        if obj.tag == "async":
            return later("Note")
        return obj.tag


@strawberry.type(name="Note")
class Note(Labelled):
    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, Tagged)


@strawberry.type(name="Sticker")
class Sticker(Labelled):
    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, Tagged) and obj.text != "tagged"


@strawberry.interface(name="Pending")
class Pending:
    """An interface whose `resolve_type` is a coroutine function."""

    text: str

    @classmethod
    async def resolve_type(cls, obj: Any, _info: Any, _type: Any) -> str:
        return "Settled"


@strawberry.type(name="Settled")
class Settled(Pending):
    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, Tagged)


class MeterRow:
    """A row whose `reading` is computed on each read (and counts its reads)."""

    label = "meter"

    def __init__(self) -> None:
        self.reads = 0

    @property
    def reading(self) -> int:
        self.reads += 1
        return self.reads  # an int for a Float field: its serializer makes it 1.0


@strawberry.type(name="Meter")
class Meter:
    reading: float
    label: str


class Shout(FieldExtension):
    """A field extension (the plan must call the field through Strawberry for it)."""

    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        return str(next_(source, info, **kwargs)).upper()


@strawberry.type(name="Box")
class Box:
    label: str
    depth: int = 0
    from_: str = strawberry.field(name="from", default="here")
    loud: str = strawberry.field(default="quiet", extensions=[Shout()])

    def _child(self, suffix: str) -> Box:
        return Box(label=f"{self.label}.{suffix}", depth=self.depth + 1)

    # plain values and synchronous failures

    @strawberry.field
    def ok(self) -> str:
        return self.label

    @strawberry.field
    def maybe(self) -> str | None:
        return None

    @strawberry.field
    def null_non_null(self) -> str:
        return cast(str, None)

    @strawberry.field
    def boom(self) -> str | None:
        raise RuntimeError(f"boom in {self.label}")

    @strawberry.field
    def boom_non_null(self) -> str:
        raise RuntimeError(f"boom in {self.label}")

    @strawberry.field
    def coded(self) -> str | None:
        raise GraphQLError("teapot", extensions={"code": "TEAPOT", "depth": self.depth})

    @strawberry.field
    def coded_non_null(self) -> str:
        raise GraphQLError("teapot", extensions={"code": "TEAPOT", "depth": self.depth})

    @strawberry.field
    def returned_error(self) -> str | None:
        return cast("str | None", ValueError(f"returned in {self.label}"))

    @strawberry.field
    def returned_coded_error(self) -> str | None:
        return cast("str | None", GraphQLError("returned", extensions={"code": "RETURNED"}))

    @strawberry.field
    def trace(self, info: Ctx) -> str:
        info.context.log.append(f"trace {self.label}")
        return self.label

    # objects

    @strawberry.field
    def child(self) -> Box | None:
        return self._child("child")

    @strawberry.field
    def child_non_null(self) -> Box:
        return self._child("nn")

    @strawberry.field
    def no_child(self) -> Box | None:
        return None

    @strawberry.field
    def no_child_non_null(self) -> Box:
        return cast(Box, None)

    @strawberry.field
    def wrong_child(self) -> Box | None:
        return cast(Box, Dog(name="Rex"))

    @strawberry.field
    def error_child(self) -> Box | None:
        return cast(Box, RuntimeError("a child that is an error"))

    # lists

    @strawberry.field
    def children(self, count: int = 2) -> list[Box | None]:
        return [self._child(str(i)) for i in range(count_of(count))]

    @strawberry.field
    def children_non_null(self, count: int = 2) -> list[Box] | None:
        return [self._child(str(i)) for i in range(count_of(count))]

    @strawberry.field
    def strict_children(self, count: int = 2) -> list[Box]:
        return [self._child(str(i)) for i in range(count_of(count))]

    @strawberry.field
    def holes(self) -> list[Box | None]:
        return [self._child("0"), None, cast(Box, RuntimeError("hole")), self._child("3")]

    @strawberry.field
    def words(self) -> list[str | None]:
        return ["a", None, "c"]

    @strawberry.field
    def words_non_null(self) -> list[str] | None:
        return ["a", cast(str, None), "c"]

    @strawberry.field
    def strict_words(self) -> list[str]:
        return ["a", cast(str, None)]

    @strawberry.field
    def mixed_items(self) -> list[str | None]:
        return cast(
            "list[str | None]",
            ["a", ValueError("item"), GraphQLError("coded item", extensions={"code": "ITEM"})],
        )

    @strawberry.field
    def grid(self) -> list[list[int | None] | None] | None:
        return cast("list[list[int | None] | None] | None", [[1, None], None, [3, 2**40], (5,)])

    @strawberry.field
    def not_a_list(self) -> list[str] | None:
        return cast("list[str] | None", 5)

    @strawberry.field
    def string_as_list(self) -> list[str] | None:
        return cast("list[str] | None", "abc")

    @strawberry.field
    def generated(self) -> list[int]:
        return cast("list[int]", (i * i for i in range(4)))

    @strawberry.field
    def tuple_items(self) -> list[int] | None:
        return cast("list[int] | None", (1, 2))

    # asynchronous resolvers

    @strawberry.field
    async def async_ok(self) -> str:
        return f"{self.label} async"

    @strawberry.field
    async def async_boom(self) -> str | None:
        raise RuntimeError(f"async boom in {self.label}")

    @strawberry.field
    async def async_coded(self) -> str | None:
        raise GraphQLError("async teapot", extensions={"code": "TEAPOT"})

    @strawberry.field
    async def async_null_non_null(self) -> str:
        return cast(str, None)

    @strawberry.field
    async def async_child(self) -> Box | None:
        return self._child("async")

    @strawberry.field
    async def async_child_non_null(self) -> Box:
        return self._child("async-nn")

    @strawberry.field
    async def async_children(self, count: int = 2) -> list[Box]:
        return [self._child(f"a{i}") for i in range(count_of(count))]

    @strawberry.field
    async def async_trace(self, info: Ctx) -> str:
        info.context.log.append(f"async trace {self.label}")
        return self.label

    # futures (settled `hops` loop turns later)

    @strawberry.field
    def future(self, hops: int = 1) -> str | None:
        return cast("str | None", later(f"{self.label} later", hops))

    @strawberry.field
    def future_non_null(self, hops: int = 1, value: str | None = "x") -> str:
        return cast("str", later(value, hops))

    @strawberry.field
    def future_fail(self, hops: int = 1) -> str | None:
        return cast("str | None", later(RuntimeError(f"future failed in {self.label}"), hops))

    @strawberry.field
    def future_fail_non_null(self, hops: int = 1) -> str:
        return cast("str", later(RuntimeError(f"future failed in {self.label}"), hops))

    @strawberry.field
    def future_coded(self, hops: int = 1) -> str | None:
        return cast(
            "str | None", later(GraphQLError("future teapot", extensions={"code": "TEAPOT"}), hops)
        )

    @strawberry.field
    def future_child(self, hops: int = 1) -> Box | None:
        return cast(Box, later(self._child(f"f{hops}"), hops))

    @strawberry.field
    def future_child_non_null(self, hops: int = 1, present: bool = True) -> Box:
        return cast(Box, later(self._child(f"fnn{hops}") if present else None, hops))

    @strawberry.field
    def future_list(self) -> list[str | None]:
        return cast(
            "list[str | None]",
            [later("a", 3), later(RuntimeError("item failed"), 2), later(None), "d"],
        )

    @strawberry.field
    def future_list_non_null(self, fail: bool = True) -> list[str] | None:
        return cast("list[str] | None", [later("a", 2), later(None if fail else "b")])

    @strawberry.field
    def future_words(self, words: list[str | None], hops: list[int]) -> list[str] | None:
        """Each word settled its own number of loop turns later (null words break the list)."""
        return cast("list[str] | None", [later(w, h) for w, h in zip(words, hops, strict=True)])

    @strawberry.field
    def async_generated(self) -> list[str | None] | None:
        async def words() -> AsyncIterator[str]:
            for word in ("x", "y"):
                yield word

        return cast("list[str | None] | None", words())

    @strawberry.field
    def coroutines(self) -> list[str | None]:
        async def word(text: str) -> str:
            return text

        return cast("list[str | None]", [word("c1"), word("c2")])

    @strawberry.field
    def future_of_list(self) -> list[str | None] | None:
        return cast("list[str | None] | None", later(["a", None, ValueError("late item")]))

    @strawberry.field
    def future_boxes(self) -> list[Box | None]:
        futures = [later(self._child("f0"), 2), later(RuntimeError("no box"))]
        return [*cast(list[Box], futures), self._child("2")]

    @strawberry.field
    def future_error_value(self) -> str | None:
        return cast("str | None", later(ValueError("a future resolved to an error")))


@strawberry.type(name="Scalars")
class Scalars:
    @strawberry.field
    def int_max(self) -> int:
        return 2**31 - 1

    @strawberry.field
    def int_too_big(self) -> int | None:
        return 2**31

    @strawberry.field
    def int_too_small(self) -> int | None:
        return -(2**31) - 1

    @strawberry.field
    def int_from_float(self) -> int | None:
        return cast("int | None", 3.0)

    @strawberry.field
    def int_from_fraction(self) -> int | None:
        return cast("int | None", 3.5)

    @strawberry.field
    def int_from_string(self) -> int | None:
        return cast("int | None", "12")

    @strawberry.field
    def int_from_bool(self) -> int | None:
        return cast("int | None", True)

    @strawberry.field
    def float_value(self) -> float:
        return 0.1

    @strawberry.field
    def float_from_int(self) -> float | None:
        return cast("float | None", 7)

    @strawberry.field
    def float_nan(self) -> float | None:
        return math.nan

    @strawberry.field
    def float_inf(self) -> float | None:
        return -math.inf

    @strawberry.field
    def float_nan_non_null(self) -> float:
        return math.nan

    @strawberry.field
    def string_from_int(self) -> str | None:
        return cast("str | None", 5)

    @strawberry.field
    def string_from_bool(self) -> str | None:
        return cast("str | None", False)

    @strawberry.field
    def string_from_list(self) -> str | None:
        return cast("str | None", ["a"])

    @strawberry.field
    def bool_from_int(self) -> bool | None:
        return cast("bool | None", 0)

    @strawberry.field
    def bool_from_string(self) -> bool | None:
        return cast("bool | None", "true")

    @strawberry.field
    def id_from_int(self) -> strawberry.ID | None:
        return cast("strawberry.ID | None", 42)

    @strawberry.field
    def id_value(self) -> strawberry.ID:
        return strawberry.ID("abc")

    @strawberry.field
    def amount(self) -> Decimal:
        return Decimal("19.90")

    @strawberry.field
    def when(self) -> datetime:
        return datetime(2026, 11, 22, 6, 47, tzinfo=UTC)

    @strawberry.field
    def shaky(self, text: str | None = "fine") -> Shaky | None:
        return Shaky(text)

    @strawberry.field
    def shaky_non_null(self, text: str | None = "fine") -> Shaky:
        return Shaky(text)

    @strawberry.field
    def color(self) -> Color:
        return Color.BLUE

    @strawberry.field
    def color_by_value(self) -> Color | None:
        return cast("Color | None", "green")

    @strawberry.field
    def color_unknown(self) -> Color | None:
        return cast("Color | None", "purple")

    @strawberry.field
    def colors(self) -> list[Color]:
        return [Color.RED, Color.GREEN, Color.BLUE]

    @strawberry.field
    def colors_with_unknown(self) -> list[Color | None]:
        return cast("list[Color | None]", [Color.RED, "nope", 3])


def _selected_names(selections: Any) -> Iterator[str]:
    for selection in selections:
        name = getattr(selection, "name", None) or getattr(selection, "type_condition", "")
        yield f"{type(selection).__name__}:{name}"
        yield from _selected_names(selection.selections)


def _animals() -> list[Animal]:
    return [Dog(name="Rex"), Cat(name="Tom", lives=7), Dog(name="Fido", good=False)]


# Resolvers written as the served schema's are (a root parameter, not `self`), so that
# `install_fast_resolvers` calls them directly in the "fast" build.


def _hello(root: Any, name: str = "world") -> str:
    return f"hello {name}"


def _appended(root: Any, values: list[int]) -> list[int]:
    """Changes its argument in place (as a careless resolver may)."""
    values.append(len(values))
    return values


def _popped(root: Any, data: JSON) -> str:
    """Changes its JSON argument in place (as a careless resolver may)."""
    values = cast(dict[str, Any], data)
    taken = values.pop("take", None)
    return f"took {taken}, left {sorted(values)}"


def _need(root: Any, value: int) -> int:
    return value * 2


def _where(root: Any, info: Ctx) -> str:
    """Where graphql-core says the field is (`info` is graphql-core's here, or Strawberry's)."""
    raw: Any = getattr(info, "_raw_info", info)
    return (
        f"{raw.field_name} {raw.path.as_list()} {raw.parent_type.name} {raw.return_type}"
        f" {[node.name.value for node in raw.field_nodes]}"
    )


def named_after_the_field(function: Callable[..., str]) -> Callable[..., str]:
    """A decorator that reads the resolver's info (its inner function reads only
    `info.context`)."""

    @functools.wraps(function)
    def wrapper(root: Any, info: Any, *args: Any, **kwargs: Any) -> str:
        raw = getattr(info, "_raw_info", info)
        return f"{raw.field_name} at {raw.path.as_list()}: {function(root, info, *args, **kwargs)}"

    return wrapper


@named_after_the_field
def _decorated(root: Any, info: Ctx) -> str:
    return f"{len(info.context.log)} effects"


@strawberry.type(name="Query")
class Query:
    hello: str = strawberry.field(resolver=_hello)

    @strawberry.field
    def echo(
        self,
        text: str = "hi",
        count: int | None = 1,
        ratio: float | None = None,
        flag: bool = False,
        ident: strawberry.ID | None = None,
        color: Color = Color.RED,
        colors: list[Color] | None = None,
        filter: Filter | None = None,
        filters: list[Filter | None] | None = None,
        amount: Decimal | None = None,
        when: datetime | None = None,
        grid: list[list[int | None]] | None = None,
        shaky: Shaky | None = None,
    ) -> str:
        shown = {k: v for k, v in locals().items() if k != "self"}
        if isinstance(shown["shaky"], Shaky):
            shown["shaky"] = f"Shaky({shown['shaky'].text})"
        return " ".join(f"{k}={show(v)}" for k, v in shown.items())

    appended: list[int] = strawberry.field(resolver=_appended)
    popped: str = strawberry.field(resolver=_popped)
    decorated: str = strawberry.field(resolver=_decorated)
    need: int = strawberry.field(resolver=_need)
    where: str = strawberry.field(resolver=_where)

    @strawberry.field
    def colour(self, color: Color = Color.GREEN) -> Color:
        return color

    @strawberry.field
    def box(self, label: str = "box") -> Box | None:
        return Box(label=label)

    @strawberry.field
    def box_non_null(self, label: str = "root") -> Box:
        return Box(label=label)

    @strawberry.field
    async def async_box(self, label: str = "abox") -> Box | None:
        return Box(label=label)

    @strawberry.field
    def future_box(self, hops: int = 1) -> Box | None:
        return cast("Box | None", later(Box(label=f"fbox{hops}"), hops))

    @strawberry.field
    def boxes(self, count: int = 2) -> list[Box]:
        return [Box(label=f"b{i}") for i in range(count_of(count))]

    @strawberry.field
    def scalars(self) -> Scalars:
        return Scalars()

    @strawberry.field
    def shapes(self) -> list[Shape | None]:
        return cast(
            "list[Shape | None]",
            [SquareRow(side=2.0), TriangleRow(sides=[3.0, 4.0, 5.0]), None, Tagged("x")],
        )

    @strawberry.field
    def labelled(self, tags: list[str | None]) -> list[Labelled | None]:
        """Values whose `resolve_type` names each `tag` ("number" names 7, "async" answers
        "Note" asynchronously), a `Sticker` when the text is not the default one."""
        named: dict[str | None, Any] = {"number": 7, "sticker": "Sticker"}
        rows = [
            Tagged(named.get(tag, tag), "sticky" if tag == "sticker" else "tagged") for tag in tags
        ]
        return cast("list[Labelled | None]", rows)

    @strawberry.field
    def pending(self) -> Pending | None:
        return cast("Pending | None", Tagged("settled", "pending"))

    @strawberry.field
    def meter(self) -> Meter:
        return cast(Meter, MeterRow())

    @strawberry.field
    def meters(self) -> list[Meter]:
        return cast(list[Meter], [MeterRow(), MeterRow()])

    @strawberry.field
    def animals(self) -> list[Animal]:
        return _animals()

    @strawberry.field
    def animal(self, name: str = "Rex") -> Animal | None:
        return next((a for a in _animals() if a.name == name), None)

    @strawberry.field
    def pets(self) -> list[Pet]:
        return [Dog(name="Rex"), Bird(), Cat(name="Tom")]

    @strawberry.field
    async def async_pets(self) -> list[Pet | None]:
        return [Bird(wingspan=1.5), None, Dog(name="Async")]

    @strawberry.field
    def future_pets(self) -> list[Pet | None]:
        return cast(
            "list[Pet | None]", [later(Cat(name="Later"), 2), later(RuntimeError("no pet")), Bird()]
        )

    @strawberry.field
    def wrong_animal(self) -> Animal | None:
        return cast("Animal | None", Bird())

    @strawberry.field
    def wrong_pet(self) -> Pet | None:
        return cast("Pet | None", Box(label="not a pet"))

    @strawberry.field
    def dict_animal(self) -> Animal | None:
        return cast("Animal | None", {"__typename": "Dog", "name": "Dict"})

    @strawberry.field
    def dog_that_is_a_cat(self) -> Dog | None:
        return cast("Dog | None", Cat(name="Impostor"))

    @strawberry.field
    def selection(self, info: Ctx) -> Box | None:
        """A box labelled with the names its selection asks for (`info.selected_fields`)."""
        return Box(label=" ".join(_selected_names(info.selected_fields)))

    @strawberry.field
    def variables_seen(self, info: Ctx) -> str:
        return repr(sorted(info.variable_values.items()))


@strawberry.type(name="Mutation")
class Mutation:
    @strawberry.mutation
    def push(self, info: Ctx, value: str) -> list[str]:
        info.context.log.append(value)
        return list(info.context.log)

    @strawberry.mutation
    async def push_async(self, info: Ctx, value: str) -> list[str]:
        info.context.log.append(f"{value} (async)")
        return list(info.context.log)

    @strawberry.mutation
    def push_later(self, info: Ctx, value: str, hops: int = 2) -> list[str]:
        info.context.log.append(f"{value} (called)")

        def settled(_future: asyncio.Future[Any]) -> None:
            info.context.log.append(f"{value} (settled)")

        future = later(list(info.context.log), hops)
        future.add_done_callback(settled)
        return cast("list[str]", future)

    @strawberry.mutation
    def push_fail(self, info: Ctx, value: str) -> str | None:
        info.context.log.append(f"{value} (fails)")
        raise RuntimeError(f"push {value} failed")

    @strawberry.mutation
    def push_fail_non_null(self, info: Ctx, value: str) -> str:
        info.context.log.append(f"{value} (fails, non-null)")
        raise GraphQLError(f"push {value} refused", extensions={"code": "REFUSED"})

    @strawberry.mutation
    async def push_async_fail_non_null(self, info: Ctx, value: str) -> str:
        info.context.log.append(f"{value} (fails async, non-null)")
        raise RuntimeError(f"push {value} failed")

    @strawberry.mutation
    def push_box(self, info: Ctx, value: str) -> Box:
        info.context.log.append(f"{value} (box)")
        return Box(label=value)


def build(fast: bool) -> strawberry.Schema:
    """The in-memory schema, built as `schema.build.build_schema` builds the served one."""
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Dog, Cat, Bird, Square, Triangle, Note, Sticker, Settled],
        scalar_overrides=SCALARS,
        config=StrawberryConfig(auto_camel_case=True),
    )
    if fast:
        assert install_fast_resolvers(schema._schema) > 0
    return schema


# -- running both executors ------------------------------------------------------------


def response(result: ExecutionResult) -> dict[str, Any]:
    """The response body as the endpoint formats it (`tests.resolvers.execution.run`)."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [
            format_error(e, default_code="BAD_USER_INPUT")
            for e in in_response_order(list(result.errors), result.data)
        ]
    return body


def unmasked(result: ExecutionResult) -> list[dict[str, Any]]:
    """The errors before masking (messages of unexpected errors included)."""
    return [dict(e.formatted) for e in in_response_order(list(result.errors or ()), result.data)]


def serial(log: list[str]) -> list[tuple[int, str]]:
    """The side effects of the resolvers in the order that must not change.

    Mutation root fields run one after the other, each with its whole subtree:
    their effects ("push ..." entries) keep their order, and every other effect
    (`trace` fields) happens between the same two of them. The order of `trace`
    effects among themselves is how the executor schedules resolvers: a plan
    completes a level of asynchronous values at a time, graphql-core each one as
    it settles; queries do not depend on it.
    """
    serial_view, roots = [], 0
    for entry in log:
        if not entry.startswith(("trace ", "async trace ")):
            roots += 1
        serial_view.append((roots, entry))
    return sorted(serial_view)


@dataclass
class Answer:
    """What both executors answered (the same), in the forms the tests assert on."""

    body: dict[str, Any]
    messages: list[dict[str, Any]]
    log: list[str]

    @property
    def data(self) -> Any:
        return self.body["data"]

    @property
    def errors(self) -> list[tuple[str, str, str]]:
        """Each error as (dotted path, unmasked message, code sent to the client)."""
        return [
            (
                ".".join(str(key) for key in unmasked_error.get("path") or ()),
                unmasked_error["message"],
                sent["extensions"]["code"],
            )
            for unmasked_error, sent in zip(self.messages, self.body.get("errors", []), strict=True)
        ]


class Gateway:
    """One build of the schema, with its document cache and plan compiler."""

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.schema = build(fast)
        self.documents = DocumentCache(self.schema._schema)
        self.plans = PlanCompiler(self.schema._schema)

    def prepared(self, query: str) -> PreparedDocument:
        prepared = self.documents.get(query)
        assert isinstance(prepared, PreparedDocument), prepared
        return prepared

    async def reference(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        context: Context | None = None,
    ) -> ExecutionResult:
        return await execute_document(
            self.schema,
            self.prepared(query).document,
            context or Context(),
            variables,
            operation_name,
        )

    async def answer(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        traced: bool = False,
    ) -> Answer:
        """Run `query` on both executors, assert they agree, and return the answer."""
        plan = self.plans.plan(self.prepared(query), operation_name)
        assert plan is not None, f"did not compile: {self.prepared(query).plans}"
        tracer = object() if traced else None
        reference_context, compiled_context = Context(tracer=tracer), Context(tracer=tracer)
        reference = await self.reference(
            query, variables, operation_name=operation_name, context=reference_context
        )
        expected = response(reference)
        try:
            compiled = await plan.execute(compiled_context, variables)
        except Exception as error:
            raise AssertionError(
                f"the plan raised {error!r} where the reference answered {expected}"
            ) from error
        assert compiled is not None, "the compiled plan handed this variant back"
        got = response(compiled)
        where = f"{query}\nvariables: {variables}, traced: {traced}"
        assert orjson.dumps(got) == orjson.dumps(expected), (
            f"{where}\nplan:      {got}\nreference: {expected}"
        )
        assert unmasked(compiled) == unmasked(reference), (
            f"{where}\nplan:      {unmasked(compiled)}\nreference: {unmasked(reference)}"
        )
        assert serial(compiled_context.log) == serial(reference_context.log), (
            f"{where}\nplan:      {compiled_context.log}\nreference: {reference_context.log}"
        )
        return Answer(expected, unmasked(reference), reference_context.log)


GATEWAYS = {"strawberry": Gateway(fast=False), "fast": Gateway(fast=True)}


@pytest.fixture(params=list(GATEWAYS))
def gateway(request: pytest.FixtureRequest) -> Gateway:
    return GATEWAYS[request.param]


UNEXPECTED = "INTERNAL_SERVER_ERROR"


def non_null(field: str) -> str:
    return f"Cannot return null for non-nullable field {field}."


# -- plain selections, arguments and variables ---------------------------------------------


async def test_root_typename_aliases_and_plain_fields(gateway: Gateway) -> None:
    answer = await gateway.answer(
        '{ __typename hello hi: hello(name: "you") t: __typename'
        ' box(label: "b") { label from loud ok again: ok __typename } }'
    )
    assert answer.body == {
        "data": {
            "__typename": "Query",
            "hello": "hello world",
            "hi": "hello you",
            "t": "Query",
            "box": {
                "label": "b",
                "from": "here",
                "loud": "QUIET",
                "ok": "b",
                "again": "b",
                "__typename": "Box",
            },
        }
    }


async def test_literal_arguments_and_defaults(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ defaults: echo"
        ' literals: echo(text: "lit", count: null, ratio: 1, flag: true, ident: 5, color: BLUE,'
        ' colors: GREEN, filter: {name: "f", range: {low: -1}}, filters: [{name: "a"}, null],'
        ' amount: "2.5", when: "2026-01-01T01:00:00+01:00", grid: [[1], [null, 2]], shaky: "s")'
        " colour need(value: 21) }"
    )
    assert answer.data == {
        "defaults": "text=str:'hi' count=int:1 ratio=null flag=bool:False ident=null"
        " color=Color.RED colors=null filter=null filters=null amount=null when=null grid=null"
        " shaky=null",
        "literals": "text=str:'lit' count=null ratio=float:1.0 flag=bool:True ident=str:'5'"
        " color=Color.BLUE colors=[Color.GREEN] filter=Filter(name=str:'f', colors=[Color.RED],"
        " range=Range(low=int:-1, high=null), tags=null) filters=[Filter(name=str:'a',"
        " colors=[Color.RED], range=null, tags=null), null] amount=Decimal:Decimal('2.5')"
        " when=datetime:2026-01-01T00:00:00+00:00 grid=[[int:1], [null, int:2]]"
        " shaky=str:'Shaky(s)'",
        "colour": "GREEN",
        "need": 42,
    }


VARIABLES_QUERY = (
    "query($t: String, $c: Int, $r: Float, $f: Boolean = true, $i: ID, $col: Color = BLUE,"
    " $cols: [Color!], $fil: Filter, $fils: [Filter], $a: Decimal, $w: DateTime, $g: [[Int]!],"
    ' $s: Shaky, $n: String! = "nested", $h: Int) {'
    " all: echo(text: $t, count: $c, ratio: $r, flag: $f, ident: $i, color: $col, colors: $cols,"
    " filter: $fil, filters: $fils, amount: $a, when: $w, grid: $g, shaky: $s)"
    " inside: echo(filter: {name: $n, range: {high: $h}, colors: [GREEN, $col]}, colors: [$col])"
    " }"
)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {},
            {
                "all": "text=str:'hi' count=int:1 ratio=null flag=bool:True ident=null"
                " color=Color.BLUE colors=null filter=null filters=null amount=null when=null"
                " grid=null shaky=null",
                "inside": "text=str:'hi' count=int:1 ratio=null flag=bool:False ident=null"
                " color=Color.RED colors=[Color.BLUE] filter=Filter(name=str:'nested',"
                " colors=[Color.GREEN, Color.BLUE], range=Range(low=int:0, high=null),"
                " tags=null) filters=null amount=null when=null grid=null shaky=null",
            },
        ),
        (
            {
                "t": "yo",
                "c": None,
                "r": 2,
                "f": False,
                "i": 7,
                "col": "GREEN",
                "cols": "RED",
                "fil": {"name": "n", "range": {"high": 3}, "tags": ["x", None]},
                "fils": [None, {"name": "m", "colors": []}],
                "a": "1.50",
                "w": "2026-01-02T03:04:05+02:00",
                "g": [[1, None], [2]],
                "s": "wobbly",
                "n": "given",
                "h": 9,
            },
            {
                "all": "text=str:'yo' count=null ratio=float:2.0 flag=bool:False ident=str:'7'"
                " color=Color.GREEN colors=[Color.RED] filter=Filter(name=str:'n',"
                " colors=[Color.RED], range=Range(low=int:0, high=int:3), tags=[str:'x', null])"
                " filters=[null, Filter(name=str:'m', colors=[], range=null, tags=null)]"
                " amount=Decimal:Decimal('1.50') when=datetime:2026-01-02T01:04:05+00:00"
                " grid=[[int:1, null], [int:2]] shaky=str:'Shaky(wobbly)'",
                "inside": "text=str:'hi' count=int:1 ratio=null flag=bool:False ident=null"
                " color=Color.RED colors=[Color.GREEN] filter=Filter(name=str:'given',"
                " colors=[Color.GREEN, Color.GREEN], range=Range(low=int:0, high=int:9),"
                " tags=null) filters=null amount=null when=null grid=null shaky=null",
            },
        ),
        (
            {"g": [1, [2]], "cols": ["BLUE", "RED"], "fils": {"name": "single"}},
            {
                "all": "text=str:'hi' count=int:1 ratio=null flag=bool:True ident=null"
                " color=Color.BLUE colors=[Color.BLUE, Color.RED] filter=null"
                " filters=[Filter(name=str:'single', colors=[Color.RED], range=null, tags=null)]"
                " amount=null when=null grid=[[int:1], [int:2]] shaky=null",
                "inside": "text=str:'hi' count=int:1 ratio=null flag=bool:False ident=null"
                " color=Color.RED colors=[Color.BLUE] filter=Filter(name=str:'nested',"
                " colors=[Color.GREEN, Color.BLUE], range=Range(low=int:0, high=null),"
                " tags=null) filters=null amount=null when=null grid=null shaky=null",
            },
        ),
    ],
    ids=["defaults", "all-given", "list-coercion"],
)
async def test_variables_are_coerced_as_by_the_reference(
    gateway: Gateway, variables: dict[str, Any], expected: dict[str, str]
) -> None:
    answer = await gateway.answer(VARIABLES_QUERY, variables)
    assert answer.body == {"data": expected}


@pytest.mark.parametrize(
    ("query", "variables", "messages"),
    [
        (
            "query($v: Int!) { need(value: $v) }",
            {},
            [
                "Variable '$v' has invalid value: Expected a value of non-null type 'Int!' to be provided."
            ],
        ),
        (
            "query($v: Int!) { need(value: $v) }",
            None,
            [
                "Variable '$v' has invalid value: Expected a value of non-null type 'Int!' to be provided."
            ],
        ),
        (
            "query($v: Int!) { need(value: $v) }",
            {"v": "3"},
            ["Variable '$v' has invalid value: Int cannot represent non-integer value: '3'"],
        ),
        (
            "query($v: Int!) { need(value: $v) }",
            {"v": 2**31},
            [
                "Variable '$v' has invalid value:"
                " Int cannot represent non 32-bit signed integer value: 2147483648"
            ],
        ),
        (
            "query($v: Int!, $w: Int!) { a: need(value: $v) b: need(value: $w) }",
            {"v": None, "w": 1.5},
            [
                "Variable '$v' has invalid value: Expected value of non-null type 'Int!' not to be None.",
                "Variable '$w' has invalid value: Int cannot represent non-integer value: 1.5",
            ],
        ),
        (
            "query($c: Color) { colour(color: $c) }",
            {"c": "red"},
            [
                "Variable '$c' has invalid value: Value 'red' does not exist in 'Color' enum."
                " Did you mean the enum value 'RED'?"
            ],
        ),
        (
            "query($f: Filter) { echo(filter: $f) }",
            {"f": {"colors": ["RED"], "extra": 1}},
            [
                "Variable '$f' has invalid value: Expected value of type 'Filter' to include"
                " required field 'name', found: {'colors': ['RED'], 'extra': 1}.",
                "Variable '$f' has invalid value: Expected value of type 'Filter' not to include"
                " unknown field 'extra', found: {'colors': ['RED'], 'extra': 1}.",
            ],
        ),
        (
            "query($g: [[Int]!]) { echo(grid: $g) }",
            {"g": [[1], None]},
            [
                "Variable '$g' has invalid value at [1]:"
                " Expected value of non-null type '[Int]!' not to be None."
            ],
        ),
        (
            "query($a: Decimal, $w: DateTime, $s: Shaky) { echo(amount: $a, when: $w, shaky: $s) }",
            {"a": "NaN", "w": "yesterday", "s": 3},
            [
                "Variable '$a' has invalid value:"
                " Decimal: expected a decimal string such as \"19.90\", got 'NaN'",
                "Variable '$w' has invalid value:"
                " DateTime: expected an ISO-8601 date-time with a zone, got 'yesterday'",
                "Variable '$s' has invalid value: Shaky: expected a string, got 3",
            ],
        ),
        (
            "query($s: Boolean!) { hello @skip(if: $s) }",
            {"s": "yes"},
            [
                "Variable '$s' has invalid value: Boolean cannot represent a non boolean value: 'yes'"
            ],
        ),
    ],
)
async def test_bad_variables_are_request_errors_without_data(
    gateway: Gateway, query: str, variables: dict[str, Any] | None, messages: list[str]
) -> None:
    answer = await gateway.answer(query, variables)
    assert answer.data is None
    assert answer.errors == [("", message, "BAD_USER_INPUT") for message in messages]
    assert all(error["locations"] for error in answer.body["errors"])


async def test_a_null_variable_for_a_non_null_argument_with_a_default(gateway: Gateway) -> None:
    answer = await gateway.answer(
        'query($t: String = "default") { hello echo(text: $t) }', {"t": None}
    )
    assert answer.data is None  # echo is non-null
    assert answer.errors == [
        (
            "echo",
            "Argument 'text' has invalid value:"
            " Expected variable '$t' provided to non-null type 'String!' not to be None.",
            UNEXPECTED,
        )
    ]


async def test_operation_chosen_by_name(gateway: Gateway) -> None:
    query = 'query A { a: hello } query B { b: hello(name: "B") box { ok } }'
    assert (await gateway.answer(query, operation_name="A")).body == {"data": {"a": "hello world"}}
    assert (await gateway.answer(query, operation_name="B")).body == {
        "data": {"b": "hello B", "box": {"ok": "box"}}
    }


# -- fragments, interfaces and unions ----------------------------------------------------


async def test_named_and_inline_fragments_merge_their_selections(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "query { box { ...Outer child { label } ... on Box { child { ok ...Inner } } ok }"
        " ...Root }"
        " fragment Outer on Box { label child { depth } }"
        " fragment Inner on Box { again: ok children(count: 1) { label } }"
        ' fragment Root on Query { hello ... { h2: hello(name: "2") } }'
    )
    assert answer.body == {
        "data": {
            "box": {
                "label": "box",
                "child": {
                    "depth": 1,
                    "label": "box.child",
                    "ok": "box.child",
                    "again": "box.child",
                    "children": [{"label": "box.child.0"}],
                },
                "ok": "box",
            },
            "hello": "hello world",
            "h2": "hello 2",
        }
    }


async def test_interfaces_and_unions(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ animals { __typename name greeting ... on Dog { good } ... on Cat { lives"
        ' shout: greeting(punctuation: "?") } }'
        ' animal(name: "Tom") { ...AnimalBits }'
        " pets { __typename ...PetBits ... on Animal { name } }"
        " asyncPets { __typename ... on Dog { name } }"
        " futurePets { ... on Cat { name } ... on Bird { __typename wingspan } }"
        " shapes { __typename corners ... on Square { side } ... on Triangle { sides perimeter } }"
        " dogThatIsACat { name __typename }"
        " } fragment AnimalBits on Animal { __typename name ... on Cat { lives } }"
        " fragment PetBits on Pet { ... on Dog { good } ... on Bird { wingspan } }"
    )
    assert answer.data == {
        "animals": [
            {"__typename": "Dog", "name": "Rex", "greeting": "I am Rex!", "good": True},
            {
                "__typename": "Cat",
                "name": "Tom",
                "greeting": "I am Tom!",
                "lives": 7,
                "shout": "I am Tom?",
            },
            {"__typename": "Dog", "name": "Fido", "greeting": "I am Fido!", "good": False},
        ],
        "animal": {"__typename": "Cat", "name": "Tom", "lives": 7},
        "pets": [
            {"__typename": "Dog", "good": True, "name": "Rex"},
            {"__typename": "Bird", "wingspan": 0.25},
            {"__typename": "Cat", "name": "Tom"},
        ],
        "asyncPets": [{"__typename": "Bird"}, None, {"__typename": "Dog", "name": "Async"}],
        "futurePets": [{"name": "Later"}, None, {"__typename": "Bird", "wingspan": 0.25}],
        "shapes": [
            {"__typename": "Square", "corners": 4, "side": 2.0},
            {"__typename": "Triangle", "corners": 3, "sides": [3.0, 4.0, 5.0], "perimeter": 12.0},
            None,
            None,
        ],
        "dogThatIsACat": {"name": "Impostor", "__typename": "Dog"},
    }
    assert answer.errors == [
        ("futurePets.1", "no pet", UNEXPECTED),
        (
            "shapes.3",
            "Abstract type 'Shape' must resolve to an Object type at runtime for field"
            " 'Query.shapes'. Either the 'Shape' type should provide a 'resolve_type' function"
            " or each possible type should provide an 'is_type_of' function.",
            UNEXPECTED,
        ),
    ]


async def test_abstract_values_that_do_not_resolve(gateway: Gateway) -> None:
    answer = await gateway.answer(
        '{ labelled(tags: ["Note", "sticker", null, "number", "Nope", "Color", "Box", "Shape"])'
        " { __typename text } wrongAnimal { name } wrongPet { __typename } dictAnimal { name } }"
    )
    assert answer.data == {
        "labelled": [
            {"__typename": "Note", "text": "tagged"},
            {"__typename": "Sticker", "text": "sticky"},
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        "wrongAnimal": None,
        "wrongPet": None,
        "dictAnimal": None,
    }
    missing = (
        "must resolve to an Object type at runtime for field '{}'. Either the '{}' type should"
        " provide a 'resolve_type' function or each possible type should provide an"
        " 'is_type_of' function."
    )
    assert answer.errors == [
        (
            "labelled.2",
            "Abstract type 'Labelled' " + missing.format("Query.labelled", "Labelled"),
            UNEXPECTED,
        ),
        (
            "labelled.3",
            "Abstract type 'Labelled' must resolve to an Object type at runtime for field"
            " 'Query.labelled' with value <Tagged instance>, received '7', which is not a valid"
            " Object type name.",
            UNEXPECTED,
        ),
        (
            "labelled.4",
            "Abstract type 'Labelled' was resolved to a type 'Nope' that does not exist inside the schema.",
            UNEXPECTED,
        ),
        (
            "labelled.5",
            "Abstract type 'Labelled' was resolved to a non-object type 'Color'.",
            UNEXPECTED,
        ),
        (
            "labelled.6",
            "Runtime Object type 'Box' is not a possible type for 'Labelled'.",
            UNEXPECTED,
        ),
        (
            "labelled.7",
            "Abstract type 'Labelled' was resolved to a non-object type 'Shape'.",
            UNEXPECTED,
        ),
        (
            "wrongAnimal",
            "Abstract type 'Animal' " + missing.format("Query.wrongAnimal", "Animal"),
            UNEXPECTED,
        ),
        (
            "wrongPet",
            "The type \"<class 'tests.persisted_queries.plans.test_semantics.Box'>\" of the field"
            " \"wrongPet\" is not in the list of the types of the union: \"['Bird', 'Cat', 'Dog']\"",
            UNEXPECTED,
        ),
        (
            "dictAnimal",
            "Expected value of type 'Dog' but got: {'__typename': 'Dog', 'name': 'Dict'}.",
            UNEXPECTED,
        ),
    ]


async def test_an_asynchronous_resolve_type(gateway: Gateway) -> None:
    """graphql-core awaits an awaitable `resolve_type` result."""
    answer = await gateway.answer('{ labelled(tags: ["async", "Note"]) { __typename text } }')
    assert answer.body == {
        "data": {
            "labelled": [
                {"__typename": "Note", "text": "tagged"},
                {"__typename": "Note", "text": "tagged"},
            ]
        }
    }


async def test_a_coroutine_resolve_type(gateway: Gateway) -> None:
    """An `async def resolve_type`: the plan completes the value once its type settles."""
    answer = await gateway.answer("{ pending { __typename text } }")
    assert answer.body == {"data": {"pending": {"__typename": "Settled", "text": "pending"}}}


# -- @skip and @include ----------------------------------------------------------------------


async def test_skip_and_include_with_literals(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ hello @skip(if: true) kept: hello @skip(if: false) @include(if: true)"
        " gone: hello @skip(if: false) @include(if: false)"
        " box { ok @include(if: false) ok label ...F @skip(if: true) ... @include(if: true) { depth } }"
        " ... on Query @include(if: false) { never: hello } }"
        " fragment F on Box { child { ok } }"
    )
    assert answer.body == {
        "data": {"kept": "hello world", "box": {"ok": "box", "label": "box", "depth": 0}}
    }


DIRECTIVES_QUERY = (
    "query($a: Boolean!, $b: Boolean!, $c: Boolean = true) {"
    " hello @include(if: $a)"
    ' x: hello(name: "x") @skip(if: $b)'
    " box @include(if: $a) @skip(if: $b) { ok label @include(if: $c) }"
    ' ... on Query @skip(if: $a) { y: hello(name: "y") }'
    " ...F @include(if: $b)"
    ' } fragment F on Query { z: hello(name: "z") box { depth child @skip(if: $c) { ok } } }'
)


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"a": True, "b": False},
            {"hello": "hello world", "x": "hello x", "box": {"ok": "box", "label": "box"}},
        ),
        (
            {"a": True, "b": False, "c": False},
            {"hello": "hello world", "x": "hello x", "box": {"ok": "box"}},
        ),
        ({"a": False, "b": True}, {"y": "hello y", "z": "hello z", "box": {"depth": 0}}),
        (
            {"a": False, "b": True, "c": False},
            {"y": "hello y", "z": "hello z", "box": {"depth": 0, "child": {"ok": "box.child"}}},
        ),
        ({"a": True, "b": True}, {"hello": "hello world", "z": "hello z", "box": {"depth": 0}}),
        ({"a": False, "b": False}, {"x": "hello x", "y": "hello y"}),
    ],
)
async def test_skip_and_include_with_variables(
    gateway: Gateway, variables: dict[str, Any], expected: dict[str, Any]
) -> None:
    answer = await gateway.answer(DIRECTIVES_QUERY, variables)
    assert answer.body == {"data": expected}


async def test_variants_are_kept_apart(gateway: Gateway) -> None:
    """Alternating directive values reuse each variant and never mix them up."""
    query = "query($s: Boolean!) { hello @skip(if: $s) box { ok @include(if: $s) } }"
    for skip in (True, False, True, False):
        answer = await gateway.answer(query, {"s": skip})
        assert answer.data == (
            {"box": {"ok": "box"}} if skip else {"hello": "hello world", "box": {}}
        )


async def test_a_null_directive_variable_falls_back_to_the_reference(gateway: Gateway) -> None:
    """A nullable variable with a default may be used in `if: Boolean!`; sent as null,
    graphql-core answers a request error. The plan leaves that variant to it."""
    query = "query($s: Boolean = false) { hello @skip(if: $s) }"
    prepared = gateway.prepared(query)
    plan = gateway.plans.plan(prepared, None)
    assert plan is not None
    assert await plan.execute(Context(), {"s": None}) is None
    result = await execute_document(
        gateway.schema, prepared.document, Context(), {"s": None}, None, plan
    )
    assert response(result) == {
        "data": None,
        "errors": [
            {
                "message": "Argument 'if' has invalid value: Expected variable '$s' provided"
                " to non-null type 'Boolean!' not to be None.",
                "locations": [{"line": 1, "column": 46}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert (await gateway.answer(query, {"s": True})).body == {"data": {}}
    assert (await gateway.answer(query, {})).body == {"data": {"hello": "hello world"}}


# -- errors and null propagation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "data", "errors"),
    [
        (
            "{ box { ok maybe nullNonNull } hello }",
            {"box": None, "hello": "hello world"},
            [("box.nullNonNull", non_null("Box.nullNonNull"))],
        ),
        (
            "{ box { ok child { ok child { nullNonNull } } } }",
            {"box": {"ok": "box", "child": {"ok": "box.child", "child": None}}},
            [("box.child.child.nullNonNull", non_null("Box.nullNonNull"))],
        ),
        (
            "{ box { ok child { childNonNull { childNonNull { boomNonNull } } } } }",
            {"box": {"ok": "box", "child": None}},
            [("box.child.childNonNull.childNonNull.boomNonNull", "boom in box.child.nn.nn")],
        ),
        (
            "{ hello boxNonNull { childNonNull { noChildNonNull { ok } } } }",
            None,
            [("boxNonNull.childNonNull.noChildNonNull", non_null("Box.noChildNonNull"))],
        ),
        (
            "{ a: box { noChild { ok } } b: box { childNonNull { label } } }",
            {"a": {"noChild": None}, "b": {"childNonNull": {"label": "box.nn"}}},
            [],
        ),
        (
            "{ box { children { label nullNonNull } } }",
            {"box": {"children": [None, None]}},
            [
                ("box.children.0.nullNonNull", non_null("Box.nullNonNull")),
                ("box.children.1.nullNonNull", non_null("Box.nullNonNull")),
            ],
        ),
        (
            "{ box { childrenNonNull { label nullNonNull } ok } }",
            {"box": {"childrenNonNull": None, "ok": "box"}},
            [("box.childrenNonNull.0.nullNonNull", non_null("Box.nullNonNull"))],
        ),
        (
            "{ box { strictChildren { label nullNonNull } ok } other: box { ok } }",
            {"box": None, "other": {"ok": "box"}},
            [("box.strictChildren.0.nullNonNull", non_null("Box.nullNonNull"))],
        ),
        (
            "{ box { strictChildren(count: 0) { nullNonNull } } }",
            {"box": {"strictChildren": []}},
            [],
        ),
        (
            "{ box { words wordsNonNull } }",
            {"box": {"words": ["a", None, "c"], "wordsNonNull": None}},
            [("box.wordsNonNull.1", non_null("Box.wordsNonNull"))],
        ),
        (
            "{ box { holes { ok } words strictWords } }",
            {"box": None},
            [
                ("box.holes.2", "hole"),
                ("box.strictWords.1", non_null("Box.strictWords")),
            ],
        ),
        (
            "{ boxes { ok } scalars { floatNanNonNull } }",
            None,
            [("scalars.floatNanNonNull", "Float cannot represent non numeric value: nan")],
        ),
    ],
)
async def test_nulls_propagate_to_the_nearest_nullable_position(
    gateway: Gateway, query: str, data: Any, errors: list[tuple[str, str]]
) -> None:
    answer = await gateway.answer(query)
    assert answer.data == data
    assert answer.errors == [(path, message, UNEXPECTED) for path, message in errors]


async def test_resolver_errors_raised_and_returned(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ box { ok boom coded returnedError returnedCodedError errorChild { ok }"
        " wrongChild { ok } mixedItems grid notAList stringAsList generated tupleItems"
        " second: boom } }"
    )
    assert answer.data == {
        "box": {
            "ok": "box",
            "boom": None,
            "coded": None,
            "returnedError": None,
            "returnedCodedError": None,
            "errorChild": None,
            "wrongChild": None,
            "mixedItems": ["a", None, None],
            "grid": [[1, None], None, [3, None], [5]],
            "notAList": None,
            "stringAsList": None,
            "generated": [0, 1, 4, 9],
            "tupleItems": [1, 2],
            "second": None,
        }
    }
    assert answer.errors == [
        ("box.boom", "boom in box", UNEXPECTED),
        ("box.coded", "teapot", "TEAPOT"),
        ("box.returnedError", "returned in box", UNEXPECTED),
        ("box.returnedCodedError", "returned", "RETURNED"),
        ("box.errorChild", "a child that is an error", UNEXPECTED),
        ("box.wrongChild.ok", "'Dog' object has no attribute 'label'", UNEXPECTED),
        ("box.mixedItems.1", "item", UNEXPECTED),
        ("box.mixedItems.2", "coded item", "ITEM"),
        (
            "box.grid.2.1",
            "Int cannot represent non 32-bit signed integer value: 1099511627776",
            UNEXPECTED,
        ),
        (
            "box.notAList",
            "Expected Iterable, but did not find one for field 'Box.notAList'.",
            UNEXPECTED,
        ),
        (
            "box.stringAsList",
            "Expected Iterable, but did not find one for field 'Box.stringAsList'.",
            UNEXPECTED,
        ),
        ("box.second", "boom in box", UNEXPECTED),
    ]
    coded = answer.body["errors"][1]
    assert coded == {
        "message": "teapot",
        "locations": [{"line": 1, "column": 17}],
        "path": ["box", "coded"],
        "extensions": {"code": "TEAPOT", "depth": 0},
    }


async def test_one_error_for_a_field_selected_twice(gateway: Gateway) -> None:
    answer = await gateway.answer("{ box { boom ...F } } fragment F on Box { boom }")
    assert answer.body == {
        "data": {"box": {"boom": None}},
        "errors": [
            {
                "message": "Unexpected error.",
                "locations": [{"line": 1, "column": 9}, {"line": 1, "column": 43}],
                "path": ["box", "boom"],
                "extensions": {"code": UNEXPECTED},
            }
        ],
    }


async def test_a_failing_non_null_root_field_nulls_data(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ box { boom } boxNonNull { coded codedNonNull } futureBox { future } hello }"
    )
    assert answer.data is None
    assert answer.errors == [
        ("box.boom", "boom in box", UNEXPECTED),
        ("boxNonNull.coded", "teapot", "TEAPOT"),
        ("boxNonNull.codedNonNull", "teapot", "TEAPOT"),
    ]


# -- asynchronous values ------------------------------------------------------------------------


async def test_coroutines_and_futures(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ asyncBox { asyncOk asyncBoom asyncCoded asyncChild { ok asyncOk }"
        " asyncChildNonNull { label } asyncChildren { label future(hops: 2) } }"
        " futureBox(hops: 3) { label future futureFail futureCoded futureErrorValue"
        " futureChild { ok future } slow: futureChildNonNull(hops: 4) { label }"
        " futureList futureOfList futureBoxes { label asyncOk } coroutines } }"
    )
    assert answer.data == {
        "asyncBox": {
            "asyncOk": "abox async",
            "asyncBoom": None,
            "asyncCoded": None,
            "asyncChild": {"ok": "abox.async", "asyncOk": "abox.async async"},
            "asyncChildNonNull": {"label": "abox.async-nn"},
            "asyncChildren": [
                {"label": "abox.a0", "future": "abox.a0 later"},
                {"label": "abox.a1", "future": "abox.a1 later"},
            ],
        },
        "futureBox": {
            "label": "fbox3",
            "future": "fbox3 later",
            "futureFail": None,
            "futureCoded": None,
            "futureErrorValue": None,
            "futureChild": {"ok": "fbox3.f1", "future": "fbox3.f1 later"},
            "slow": {"label": "fbox3.fnn4"},
            "futureList": ["a", None, None, "d"],
            "futureOfList": ["a", None, None],
            "futureBoxes": [
                {"label": "fbox3.f0", "asyncOk": "fbox3.f0 async"},
                None,
                {"label": "fbox3.2", "asyncOk": "fbox3.2 async"},
            ],
            "coroutines": ["c1", "c2"],
        },
    }
    assert answer.errors == [
        ("asyncBox.asyncBoom", "async boom in abox", UNEXPECTED),
        ("asyncBox.asyncCoded", "async teapot", "TEAPOT"),
        ("futureBox.futureFail", "future failed in fbox3", UNEXPECTED),
        ("futureBox.futureCoded", "future teapot", "TEAPOT"),
        ("futureBox.futureErrorValue", "a future resolved to an error", UNEXPECTED),
        ("futureBox.futureList.1", "item failed", UNEXPECTED),
        ("futureBox.futureOfList.2", "late item", UNEXPECTED),
        ("futureBox.futureBoxes.1", "no box", UNEXPECTED),
    ]


@pytest.mark.parametrize(
    ("query", "data", "errors"),
    [
        (
            "{ box { asyncNullNonNull } hello }",
            {"box": None, "hello": "hello world"},
            [("box.asyncNullNonNull", non_null("Box.asyncNullNonNull"))],
        ),
        (
            "{ box { ok child { asyncChildNonNull { futureChildNonNull { futureNonNull(value: null) } } } } }",
            {"box": {"ok": "box", "child": None}},
            [
                (
                    "box.child.asyncChildNonNull.futureChildNonNull.futureNonNull",
                    non_null("Box.futureNonNull"),
                )
            ],
        ),
        (
            "{ box { strictChildren { futureNonNull(value: null) } } hello }",
            {"box": None, "hello": "hello world"},
            [("box.strictChildren.0.futureNonNull", non_null("Box.futureNonNull"))],
        ),
        (
            "{ box { asyncChildren { nullNonNull } } hello }",
            {"box": None, "hello": "hello world"},
            [("box.asyncChildren.0.nullNonNull", non_null("Box.nullNonNull"))],
        ),
        (
            "{ box { futureChildNonNull(present: false) { label } } }",
            {"box": None},
            [("box.futureChildNonNull", non_null("Box.futureChildNonNull"))],
        ),
        (
            "{ box { futureListNonNull } b: box { futureListNonNull(fail: false) } }",
            {"box": {"futureListNonNull": None}, "b": {"futureListNonNull": ["a", "b"]}},
            [("box.futureListNonNull.1", non_null("Box.futureListNonNull"))],
        ),
        (
            '{ box { futureWords(words: ["a", null, "b"], hops: [3, 1, 2]) } }',
            {"box": {"futureWords": None}},
            [("box.futureWords.1", non_null("Box.futureWords"))],
        ),
        (
            "{ boxNonNull { futureChildNonNull { asyncNullNonNull } } futureBox { futureFail } }",
            None,
            [("boxNonNull.futureChildNonNull.asyncNullNonNull", non_null("Box.asyncNullNonNull"))],
        ),
        (
            "{ futureBox { future } boxNonNull { boomNonNull } }",
            None,
            [("boxNonNull.boomNonNull", "boom in root")],
        ),
        (
            # The nulled box's other errors were recorded before it was nulled: they stay.
            "{ box { boom future futureChildNonNull(hops: 2) { futureFailNonNull(hops: 3) } } }",
            {"box": None},
            [
                ("box.boom", "boom in box"),
                ("box.futureChildNonNull.futureFailNonNull", "future failed in box.fnn2"),
            ],
        ),
    ],
)
async def test_asynchronous_nulls_propagate(
    gateway: Gateway, query: str, data: Any, errors: list[tuple[str, str]]
) -> None:
    answer = await gateway.answer(query)
    assert answer.data == data
    assert answer.errors == [(path, message, UNEXPECTED) for path, message in errors]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        (
            # Settled in the same loop turn, a nullable sibling's error is recorded before the
            # non-null failure reaches the box (one turn per level): the reference keeps it.
            "{ box { futureNonNull(value: null) futureFail } }",
            [
                ("box.futureFail", "future failed in box"),
                ("box.futureNonNull", non_null("Box.futureNonNull")),
            ],
        ),
        (
            # The same with the non-null failure one level down, in an object completed late.
            "{ box { asyncChildNonNull { nullNonNull } asyncBoom } }",
            [
                ("box.asyncBoom", "async boom in box"),
                ("box.asyncChildNonNull.nullNonNull", non_null("Box.nullNonNull")),
            ],
        ),
        (
            # `b` fails first, then `a`, then `c` nulls the box: the reference lists all three
            # in the order they failed (the paths under the null box cannot be ordered).
            "{ box { a: futureFail(hops: 3) b: futureFail(hops: 1) c: futureNonNull(hops: 5, value: null) } }",
            [
                ("box.b", "future failed in box"),
                ("box.a", "future failed in box"),
                ("box.c", non_null("Box.futureNonNull")),
            ],
        ),
        (
            # `a` fails before `c` nulls the box: the reference keeps its error.
            "{ box { c: futureNonNull(hops: 3, value: null) a: futureFail(hops: 1) } }",
            [("box.a", "future failed in box"), ("box.c", non_null("Box.futureNonNull"))],
        ),
        (
            # Of two failing items of a [String!] list, the one that fails first is reported.
            "{ box { futureWords(words: [null, null], hops: [2, 1]) } }",
            [("box.futureWords.1", non_null("Box.futureWords"))],
        ),
    ],
)
async def test_errors_under_a_nulled_position_in_settle_order(
    gateway: Gateway, query: str, errors: list[tuple[str, str]]
) -> None:
    """graphql-core records each error when its value settles, and drops only the errors
    of positions already nulled then; a position nulled by an asynchronous non-null
    failure keeps the errors recorded under it before."""
    answer = await gateway.answer(query)
    assert answer.errors == [(path, message, UNEXPECTED) for path, message in errors]


async def test_async_iterables_complete_as_lists(gateway: Gateway) -> None:
    """graphql-core completes a list field whose resolver returns an async iterable."""
    answer = await gateway.answer("{ box { asyncGenerated } }")
    assert answer.body == {"data": {"box": {"asyncGenerated": ["x", "y"]}}}


# -- mutations ----------------------------------------------------------------------------------


async def test_mutation_root_fields_run_serially(gateway: Gateway) -> None:
    answer = await gateway.answer(
        'mutation { a: push(value: "1") __typename b: pushBox(value: "2") { trace'
        ' child { asyncTrace trace } future } c: push(value: "3") d: pushFail(value: "4")'
        ' e: push(value: "5") }'
    )
    assert answer.data == {
        "a": ["1"],
        "__typename": "Mutation",
        "b": {
            "trace": "2",
            "child": {"asyncTrace": "2.child", "trace": "2.child"},
            "future": "2 later",
        },
        "c": ["1", "2 (box)", "trace 2", "trace 2.child", "async trace 2.child", "3"],
        "d": None,
        "e": [
            "1",
            "2 (box)",
            "trace 2",
            "trace 2.child",
            "async trace 2.child",
            "3",
            "4 (fails)",
            "5",
        ],
    }
    assert answer.errors == [("d", "push 4 failed", UNEXPECTED)]
    assert answer.log == [
        "1",
        "2 (box)",
        "trace 2",
        "trace 2.child",
        "async trace 2.child",
        "3",
        "4 (fails)",
        "5",
    ]


@pytest.mark.parametrize(
    ("query", "log", "errors"),
    [
        (
            'mutation { a: push(value: "1") b: pushFailNonNull(value: "2") c: push(value: "3") }',
            ["1", "2 (fails, non-null)"],
            [("b", "push 2 refused", "REFUSED")],
        ),
        (
            'mutation { a: pushBox(value: "1") { trace nullNonNull } c: push(value: "3") }',
            ["1 (box)", "trace 1"],
            [("a.nullNonNull", non_null("Box.nullNonNull"), UNEXPECTED)],
        ),
        (
            'mutation { a: pushBox(value: "1") { trace futureNonNull(value: null) } c: push(value: "3") }',
            ["1 (box)", "trace 1"],
            [("a.futureNonNull", non_null("Box.futureNonNull"), UNEXPECTED)],
        ),
        (
            'mutation { a: push(value: "1") b: pushAsyncFailNonNull(value: "2") c: push(value: "3") }',
            ["1", "2 (fails async, non-null)"],
            [("b", "push 2 failed", UNEXPECTED)],
        ),
    ],
)
async def test_a_failing_non_null_mutation_field_stops_the_rest(
    gateway: Gateway, query: str, log: list[str], errors: list[tuple[str, str, str]]
) -> None:
    answer = await gateway.answer(query)
    assert answer.data is None
    assert answer.log == log
    assert answer.errors == errors


async def test_mutation_root_fields_with_asynchronous_values(gateway: Gateway) -> None:
    answer = await gateway.answer(
        'mutation { a: push(value: "1") b: pushAsync(value: "2") c: pushLater(value: "3")'
        ' d: push(value: "4") }'
    )
    assert answer.data == {
        "a": ["1"],
        "b": ["1", "2 (async)"],
        "c": ["1", "2 (async)", "3 (called)"],
        "d": ["1", "2 (async)", "3 (called)", "3 (settled)", "4"],
    }
    assert answer.log == ["1", "2 (async)", "3 (called)", "3 (settled)", "4"]


# -- leaves -------------------------------------------------------------------------------------


async def test_scalars_and_enums_serialise_by_value(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ scalars { intMax intFromFloat intFromString intFromBool floatValue floatFromInt"
        " stringFromInt stringFromBool boolFromInt idFromInt idValue amount when shaky color"
        " colorByValue colors } colour(color: BLUE) }"
    )
    assert answer.body == {
        "data": {
            "scalars": {
                "intMax": 2147483647,
                "intFromFloat": 3,
                "intFromString": 12,
                "intFromBool": 1,
                "floatValue": 0.1,
                "floatFromInt": 7.0,
                "stringFromInt": "5",
                "stringFromBool": "false",
                "boolFromInt": False,
                "idFromInt": "42",
                "idValue": "abc",
                "amount": "19.90",
                "when": "2026-11-22T06:47:00Z",
                "shaky": "fine",
                "color": "BLUE",
                "colorByValue": "GREEN",
                "colors": ["RED", "GREEN", "BLUE"],
            },
            "colour": "BLUE",
        }
    }
    assert orjson.dumps(answer.body["data"]["scalars"]["floatFromInt"]) == b"7.0"


async def test_values_their_type_cannot_serialise(gateway: Gateway) -> None:
    answer = await gateway.answer(
        "{ scalars { intTooBig intTooSmall intFromFraction floatNan floatInf stringFromList"
        ' boolFromString colorUnknown colorsWithUnknown a: shaky(text: "raise")'
        ' b: shaky(text: "graphql-error") c: shaky(text: null) } }'
    )
    assert answer.data == {
        "scalars": {
            "intTooBig": None,
            "intTooSmall": None,
            "intFromFraction": None,
            "floatNan": None,
            "floatInf": None,
            "stringFromList": None,
            "boolFromString": None,
            "colorUnknown": None,
            "colorsWithUnknown": ["RED", None, "BLUE"],
            "a": None,
            "b": None,
            "c": None,
        }
    }
    assert answer.errors == [
        (
            "scalars.intTooBig",
            "Int cannot represent non 32-bit signed integer value: 2147483648",
            UNEXPECTED,
        ),
        (
            "scalars.intTooSmall",
            "Int cannot represent non 32-bit signed integer value: -2147483649",
            UNEXPECTED,
        ),
        ("scalars.intFromFraction", "Int cannot represent non-integer value: 3.5", UNEXPECTED),
        ("scalars.floatNan", "Float cannot represent non numeric value: nan", UNEXPECTED),
        ("scalars.floatInf", "Float cannot represent non numeric value: -inf", UNEXPECTED),
        ("scalars.stringFromList", "String cannot represent value: ['a']", UNEXPECTED),
        (
            "scalars.boolFromString",
            "Boolean cannot represent a non boolean value: 'true'",
            UNEXPECTED,
        ),
        ("scalars.colorUnknown", "Enum 'Color' cannot represent value: 'purple'", UNEXPECTED),
        ("scalars.colorsWithUnknown.1", "Enum 'Color' cannot represent value: 'nope'", UNEXPECTED),
        ("scalars.a", "Shaky cannot serialize this", UNEXPECTED),
        ("scalars.b", "Shaky refuses", "SHAKY"),
        (
            "scalars.c",
            "Expected `Shaky.coerce_output_value(<Shaky instance>)` to return non-nullable value,"
            " returned: None",
            UNEXPECTED,
        ),
    ]


# -- what resolvers see ---------------------------------------------------------------------------


@pytest.mark.parametrize("traced", [False, True])
async def test_resolver_info(gateway: Gateway, traced: bool) -> None:
    """Resolvers that read their info get graphql-core's field, path, types and nodes."""
    answer = await gateway.answer(
        'query Q($x: Boolean = true, $n: String = "n") { where w: where variablesSeen'
        " hello(name: $n) @include(if: $x) }",
        traced=traced,
    )
    assert answer.body == {
        "data": {
            "where": "where ['where'] Query String! ['where']",
            "w": "where ['w'] Query String! ['where']",
            "variablesSeen": "[('n', 'n'), ('x', True)]",
            "hello": "hello n",
        }
    }


@pytest.mark.parametrize("traced", [False, True])
async def test_selected_fields(gateway: Gateway, traced: bool) -> None:
    """Strawberry's `info.selected_fields` resolves fragment spreads from `info.fragments`."""
    answer = await gateway.answer(
        "{ selection { label ...F } } fragment F on Box { ok }", traced=traced
    )
    assert answer.data == {
        "selection": {
            "label": "SelectedField:selection SelectedField:label FragmentSpread:F SelectedField:ok",
            "ok": "SelectedField:selection SelectedField:label FragmentSpread:F SelectedField:ok",
        }
    }


@pytest.mark.parametrize(
    ("query", "data"),
    [
        ("{ appended(values: [1, 2]) }", {"appended": [1, 2, 2]}),
        ("{ popped(data: {take: 1, keep: 2}) }", {"popped": "took 1, left ['keep']"}),
        ("{ popped(data: {take: [1], keep: [2]}) }", {"popped": "took [1], left ['keep']"}),
    ],
)
async def test_literal_arguments_are_fresh_for_each_request(
    gateway: Gateway, query: str, data: dict[str, Any]
) -> None:
    """A resolver that changes an argument in place must not change the next request's."""
    for _ in range(3):
        answer = await gateway.answer(query)
        assert answer.body == {"data": data}


async def test_plain_fields_are_read_once(gateway: Gateway) -> None:
    """graphql-core reads a plain field's attribute once, however it then serializes."""
    answer = await gateway.answer("{ meter { reading label } meters { label reading } }")
    assert answer.body == {
        "data": {
            "meter": {"reading": 1.0, "label": "meter"},
            "meters": [{"label": "meter", "reading": 1.0}, {"label": "meter", "reading": 1.0}],
        }
    }


@pytest.mark.parametrize("traced", [False, True])
async def test_resolver_info_read_by_a_decorator(gateway: Gateway, traced: bool) -> None:
    """A resolver whose own code reads only `info.context`, under a decorator that reads
    more of its info (the decorator's source is not the resolver's)."""
    answer = await gateway.answer("{ decorated d: decorated }", traced=traced)
    assert answer.body == {
        "data": {
            "decorated": "decorated at ['decorated']: 0 effects",
            "d": "decorated at ['d']: 0 effects",
        }
    }


async def test_introspection_runs_on_the_reference_executor(gateway: Gateway) -> None:
    query = '{ __schema { queryType { name } mutationType { name } } __type(name: "Color") { name kind enumValues { name } } hello }'
    prepared = gateway.prepared(query)
    before = gateway.plans.stats.fallbacks["introspection runs on the reference executor"]
    plan = gateway.plans.plan(prepared, None)
    assert plan is None
    assert (
        gateway.plans.stats.fallbacks["introspection runs on the reference executor"] == before + 1
    )
    # What the endpoint does with no plan: graphql-core answers.
    result = await execute_document(gateway.schema, prepared.document, Context(), None, None, plan)
    assert response(result) == {
        "data": {
            "__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}},
            "__type": {
                "name": "Color",
                "kind": "ENUM",
                "enumValues": [{"name": "RED"}, {"name": "GREEN"}, {"name": "BLUE"}],
            },
            "hello": "hello world",
        }
    }
    typename_only = await gateway.answer("{ __typename box { __typename } }")
    assert typename_only.data == {"__typename": "Query", "box": {"__typename": "Box"}}
