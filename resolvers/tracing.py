"""Spans for non-trivial resolvers, created only when the request is sampled."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def traced(resolver: F) -> F:
    """Wrap a resolver in a span when the request's context has a tracer.

    Unsampled requests have no tracer, and pay one attribute read. Trivial
    attribute fields are never wrapped at all.
    """

    @functools.wraps(resolver)
    def wrapper(root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        tracer = info.context.tracer
        if tracer is None:
            return resolver(root, info, *args, **kwargs)
        # Strawberry's Info wraps graphql-core's ResolveInfo (and hides parent_type);
        # fast resolvers pass graphql-core's directly.
        raw = getattr(info, "_raw_info", info)
        parent = raw.parent_type.name
        with tracer.start_as_current_span(
            f"resolve {parent}.{raw.field_name}",
            attributes={
                "graphql.field.name": raw.field_name,
                "graphql.field.parent_type": parent,
                "graphql.field.path": ".".join(str(p) for p in raw.path.as_list()),
            },
        ):
            return resolver(root, info, *args, **kwargs)

    # Compiled plans call the undecorated resolver on unsampled requests.
    wrapper.vitrine_untraced = resolver  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
