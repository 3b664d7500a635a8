"""The requested cost of an operation as a formula of its page-size variables.

Worked out once per document; a request evaluates it with its variables
(`products(first: $first)` costs what the request's `$first` asks for),
which is a few multiplications: everything that no variable changes is
folded into constants when the formula is built.

Every use of a field counts, fragments where they are spread, and under an
abstract type every type condition's fields count: an upper bound, never
less than what execution will do. Each fragment's formula is built once
(`infra.fragment_order`), so a fragment fan-out costs linear time to price;
its price is exponential, and refused by the cost limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)

from infra.cost_weights import (
    OBJECT_COST,
    SATURATION,
    UNPAGED,
    FieldCost,
    PageSize,
    field_cost,
)
from infra.fragment_order import dependency_order


class Cost:
    """`fixed + sum(coefficient * size(page) * sub)`: a cost that may depend on variables."""

    __slots__ = ("fixed", "terms")

    def __init__(self, fixed: int = 0, terms: tuple[tuple[int, PageSize, Cost], ...] = ()) -> None:
        self.fixed = min(fixed, SATURATION)
        self.terms = terms

    def __add__(self, other: Cost) -> Cost:
        # An empty side gives the other one itself: sibling fields that spread one fragment
        # then hold the same formula, which `CostFormulas._field` shares between them.
        if not self.fixed and not self.terms:
            return other
        if not other.terms:
            return Cost(self.fixed + other.fixed, self.terms) if other.fixed else self
        merged: dict[tuple[PageSize, int], tuple[int, PageSize, Cost]] = {}
        for coefficient, page, sub in (*self.terms, *other.terms):
            key = (page, id(sub))
            if key in merged:
                coefficient = min(merged[key][0] + coefficient, SATURATION)
            merged[key] = (coefficient, page, sub)
        return Cost(self.fixed + other.fixed, tuple(merged.values()))

    def times(self, page: PageSize) -> Cost:
        """This cost once per item of a list of `page` items."""
        if not self.fixed and not self.terms:
            return self
        if page.variable is None:
            n = page.value
            return Cost(
                self.fixed * n,
                tuple((min(c * n, SATURATION), p, s) for c, p, s in self.terms if n),
            )
        if not self.terms:
            return Cost(0, ((self.fixed, page, UNIT),)) if self.fixed else self
        return Cost(0, ((1, page, self),))

    def evaluate(self, variables: Mapping[str, Any] | None, defaults: Mapping[str, int]) -> int:
        """The cost with a request's page sizes. Sibling fields share their sub-formulas
        (every use of a fragment is its one formula), so the formula is a DAG that, walked
        as a tree, is exponential in its depth: each sub-formula is evaluated once per call,
        and the sum stops at SATURATION."""
        return self._evaluate(variables, defaults, {}, {})

    def _evaluate(
        self,
        variables: Mapping[str, Any] | None,
        defaults: Mapping[str, int],
        sizes: dict[PageSize, int],
        done: dict[int, int],
    ) -> int:
        # `done` is keyed by id(): every sub-formula is alive (held by this one) for the call.
        total = self.fixed
        for coefficient, page, sub in self.terms:
            size = sizes.get(page)
            if size is None:
                size = sizes[page] = page.resolve(variables, defaults)
            if not size:
                continue
            each = done.get(id(sub))
            if each is None:
                each = done[id(sub)] = sub._evaluate(variables, defaults, sizes, done)
            total += coefficient * size * each
            if total >= SATURATION:
                return SATURATION
        return total


ZERO = Cost()
UNIT = Cost(1)


class CostFormulas:
    """The requested-cost formulas of one document's selections; fragments priced once."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self._schema = schema
        # A fragment's price: (cost, cost per item of the enclosing page), see `selection`.
        self._fragments: dict[str, tuple[Cost, Cost]] = {}
        # Uses of one field with one page size and the same sub-formulas get one formula,
        # so that their sum is one term (`k` sibling uses: coefficient k), not k terms.
        # The sub-formulas are kept in the value: the ids in the key stay theirs.
        self._uses: dict[tuple[str, str, PageSize, int, int], tuple[Cost, Cost, Cost, Cost]] = {}
        for name in dependency_order(fragments):
            fragment = fragments[name]
            condition = schema.get_type(fragment.type_condition.name.value)
            if condition is not None:
                self._fragments[name] = self.selection(condition, fragment.selection_set)

    def operation(self, root: GraphQLNamedType, selection_set: SelectionSetNode) -> Cost:
        fixed, per_item = self.selection(root, selection_set)
        return fixed + per_item.times(UNPAGED)

    def selection(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode
    ) -> tuple[Cost, Cost]:
        """(cost, cost per item of the page): lists of a connection (`edges`, `nodes`)
        are priced per item here, and multiplied by the page size where the connection is
        asked for; everything else is in the first cost."""
        fixed, per_item = ZERO, ZERO
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                f, p = self._field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._schema.get_type(condition.name.value) if condition else parent
                if target is None:
                    continue
                f, p = self.selection(target, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                f, p = self._fragments.get(selection.name.value, (ZERO, ZERO))
            else:  # pragma: no cover - no other kind of selection exists
                continue
            fixed, per_item = fixed + f, per_item + p
        return fixed, per_item

    def _field(self, parent: GraphQLNamedType, node: FieldNode) -> tuple[Cost, Cost]:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or fields is None or name not in fields or not node.selection_set:
            return ZERO, ZERO  # free: scalars, __typename, introspection
        definition = fields[name]
        charge = field_cost(self._schema, parent, definition)
        if charge is None:
            return ZERO, ZERO
        child_fixed, child_items = self.selection(
            get_named_type(definition.type), node.selection_set
        )
        page = charge.page_size(node)
        key = (parent.name, name, page, id(child_fixed), id(child_items))
        use = self._uses.get(key)
        if use is None:
            use = self._uses[key] = (
                *self._priced(charge, page, child_fixed, child_items),
                child_fixed,
                child_items,
            )
        return use[0], use[1]

    def _priced(
        self, charge: FieldCost, page: PageSize, child_fixed: Cost, child_items: Cost
    ) -> tuple[Cost, Cost]:
        inner = page if charge.pages is not None and not charge.is_list else UNPAGED
        children = child_fixed + child_items.times(inner)
        if not charge.is_list:
            return Cost(charge.weight) + children, ZERO
        item = Cost(OBJECT_COST) + children
        if charge.in_page:
            return Cost(charge.weight), item
        return Cost(charge.weight) + item.times(page), ZERO
