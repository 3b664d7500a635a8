"""Building the served schema, and printing it as SDL."""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.catalog.types import Category, Collection, Product, Store
from schema.creators.types import Creator, Post
from schema.fast_fields import install_fast_resolvers
from schema.mutation import Mutation
from schema.pricing.types import Promotion
from schema.query import Query
from schema.scalars import SCALAR_OVERRIDES

SDL_PATH = Path(__file__).parent / "schema.graphql"


def build_schema() -> strawberry.Schema:
    """The served schema: the contract's types, with nothing wrapping every field."""
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Product, Store, Category, Collection, Creator, Post, Promotion],
        scalar_overrides=SCALAR_OVERRIDES,
        config=StrawberryConfig(auto_camel_case=True),
    )
    install_fast_resolvers(schema._schema)
    return schema


def print_sdl(schema: strawberry.Schema | None = None) -> str:
    return (schema or build_schema()).as_str() + "\n"
