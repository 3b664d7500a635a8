"""Promotion conditions: the predicate tree of events.md and its complexity guard."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 6
MAX_LEAVES = 256

LIST_LEAVES = frozenset({"productIn", "categoryIn", "collectionIn", "tagIn", "segmentIn"})
COMBINATORS = frozenset({"all", "any", "not"})


class ConditionError(ValueError):
    """A promotion condition that is malformed or over the complexity limits."""


def check_condition(condition: Any) -> None:
    """Raise ConditionError unless `condition` is a well-formed tree within the limits.

    `null` and `{}` mean "always". The walk is iterative with an explicit depth
    bound, so a hostile tree cannot exhaust the interpreter's stack.
    """
    if condition is None or condition == {}:
        return
    leaves = 0
    stack: list[tuple[Any, int, str]] = [(condition, 1, "condition")]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise ConditionError(f"{path}: deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict) or len(node) != 1:
            raise ConditionError(f"{path}: each node is an object with exactly one key")
        ((key, value),) = node.items()
        here = f"{path}.{key}"
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionError(f"{here}: must be a non-empty list of conditions")
            stack.extend((child, depth + 1, f"{here}[{i}]") for i, child in enumerate(value))
        elif key == "not":
            stack.append((value, depth + 1, here))
        else:
            leaves += 1
            if leaves > MAX_LEAVES:
                raise ConditionError(f"condition: more than {MAX_LEAVES} leaves")
            _check_leaf(key, value, here)


def _check_leaf(key: str, value: Any, path: str) -> None:
    if key in LIST_LEAVES:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConditionError(f"{path}: must be a list of non-empty strings")
    elif key == "minQuantity":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConditionError(f"{path}: must be a positive integer")
    elif key == "minSubtotal":
        try:
            ok = isinstance(value, str) and Decimal(value).is_finite() and Decimal(value) >= 0
        except InvalidOperation:
            ok = False
        if not ok:
            raise ConditionError(f"{path}: must be a non-negative decimal string")
    else:
        known = sorted(LIST_LEAVES | COMBINATORS | {"minQuantity", "minSubtotal"})
        raise ConditionError(f"{path}: unknown condition {key!r} (known: {', '.join(known)})")
