"""Promotion conditions compiled into plain Python predicates, kept across requests.

A condition tree (events.md, "Promotion conditions") becomes the source of one
function of the line's facts,

    predicate(product_id, categories, collections, tags, segments, quantity, subtotal)

whose body is a single boolean expression: `all` is `and`, `any` is `or`,
a list leaf is a set test against a frozenset constant. Values from the event
never enter the source text, only the namespace (as `_k0`, `_k1`...), so a
hostile condition cannot inject code, and the guard at ingest (depth 6, 256
leaves) keeps the expression well within the parser's limits.

Compiling costs ~50-200 us; evaluating costs well under a microsecond. So
predicates are compiled once per promotion version and kept in a process-wide
cache (`PREDICATES`): a new version of a promotion replaces its entry, and the
cache counts its hits and misses for /metrics.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from readmodels.pricing.rows import PromotionRow

Predicate = Callable[
    [str, frozenset[str], frozenset[str], frozenset[str], frozenset[str], int, Decimal], bool
]
PARAMETERS = "product_id, categories, collections, tags, segments, quantity, subtotal"

_SET_LEAVES = {
    "categoryIn": "categories",
    "collectionIn": "collections",
    "tagIn": "tags",
    "segmentIn": "segments",
}


def condition_source(condition: Mapping[str, Any] | None, constants: dict[str, Any]) -> str:
    """The boolean expression of `condition`; its literals are added to `constants`."""
    if not condition:
        return "True"
    ((key, value),) = condition.items()
    if key == "all":
        return "(" + " and ".join(condition_source(c, constants) for c in value) + ")"
    if key == "any":
        return "(" + " or ".join(condition_source(c, constants) for c in value) + ")"
    if key == "not":
        return f"(not {condition_source(value, constants)})"
    name = f"_k{len(constants)}"
    if key == "productIn":
        constants[name] = frozenset(value)
        return f"(product_id in {name})"
    if key in _SET_LEAVES:
        constants[name] = frozenset(value)
        return f"(not {name}.isdisjoint({_SET_LEAVES[key]}))"
    if key == "minQuantity":
        constants[name] = int(value)
        return f"(quantity >= {name})"
    if key == "minSubtotal":
        constants[name] = Decimal(value)
        return f"(subtotal >= {name})"
    raise ValueError(f"unknown condition {key!r}")  # the ingest guard rejects these first


def compile_condition(condition: Mapping[str, Any] | None) -> Predicate:
    """A predicate function equivalent to `condition` (None or {} is always true)."""
    constants: dict[str, Any] = {}
    expression = condition_source(condition, constants)
    source = f"def predicate({PARAMETERS}):\n    return {expression}\n"
    namespace: dict[str, Any] = {"__builtins__": {}, **constants}
    exec(compile(source, "<promotion condition>", "exec"), namespace)
    predicate: Predicate = namespace["predicate"]
    return predicate


def could_apply(
    condition: Mapping[str, Any] | None,
    product_id: str,
    categories: frozenset[str],
    collections: frozenset[str],
    tags: frozenset[str],
    segments: frozenset[str],
) -> bool:
    """Whether some quantity and cart subtotal make `condition` true for this product
    and viewer: Kleene's three-valued logic, with the quantity and subtotal leaves
    unknown. What `Product.promotions` lists ("can apply to this product")."""
    facts = (product_id, categories, collections, tags, segments)
    return _kleene(condition, facts) is not False


def _kleene(condition: Mapping[str, Any] | None, facts: tuple[Any, ...]) -> bool | None:
    if not condition:
        return True
    ((key, value),) = condition.items()
    if key in ("all", "any"):
        results = [_kleene(c, facts) for c in value]
        decisive = key == "any"  # True decides `any`, False decides `all`
        if decisive in results:
            return decisive
        return None if None in results else not decisive
    if key == "not":
        inner = _kleene(value, facts)
        return None if inner is None else not inner
    if key in ("minQuantity", "minSubtotal"):
        return None
    product_id, categories, collections, tags, segments = facts
    if key == "productIn":
        return product_id in value
    known = {"categoryIn": categories, "collectionIn": collections, "tagIn": tags}
    group = known.get(key, segments)
    return not group.isdisjoint(value)


@dataclass(slots=True)
class PredicateStats:
    hits: int = 0
    misses: int = 0
    compiled: int = 0

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class PredicateCache:
    """Compiled predicates by promotion id, each valid for one version of it.

    Bounded (least recently used out) so a store churning through promotions
    cannot grow it without limit; one entry per promotion, since a new version
    replaces the old one.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: OrderedDict[str, tuple[int, Predicate]] = OrderedDict()
        self._max_entries = max_entries
        self.stats = PredicateStats()

    def get(self, promotion: PromotionRow) -> Predicate:
        entry = self._entries.get(promotion.id)
        if entry is not None and entry[0] == promotion.version:
            self.stats.hits += 1
            self._entries.move_to_end(promotion.id)
            return entry[1]
        self.stats.misses += 1
        predicate = compile_condition(promotion.condition)
        self.stats.compiled += 1
        self._entries[promotion.id] = (promotion.version, predicate)
        self._entries.move_to_end(promotion.id)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return predicate

    def __len__(self) -> int:
        return len(self._entries)


PREDICATES = PredicateCache()
"""The process's compiled predicates, shared by every request."""
