"""Skewed sampling, money and slugs: the small numeric tools of the demo world.

Real catalogs and audiences are lopsided: a few products get most order
lines and a few creators most follows. `Zipf` draws such ranks in O(1) from
the inverse of the continuous power law, so no table of n weights is needed
even for a million products.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal
from itertools import accumulate
from random import Random

_NON_SLUG = re.compile(r"[^a-z0-9]+")


class Zipf:
    """Draws an index in [0, n) where index i has weight about 1 / (i + 1) ** s."""

    def __init__(self, n: int, s: float) -> None:
        if n < 1:
            raise ValueError("Zipf needs at least one item")
        self._n = n
        self._a = 1.0 - s
        self._span = (n + 1) ** self._a - 1.0 if self._a else 0.0
        self._log_top = float(n + 1)

    def pick(self, rng: Random) -> int:
        u = rng.random()
        x = (1.0 + u * self._span) ** (1.0 / self._a) if self._a else self._log_top**u
        return min(int(x) - 1, self._n - 1) if x >= 1.0 else 0


class Weighted:
    """Draws an index with the given relative weights (bisect on cumulative sums)."""

    def __init__(self, weights: Sequence[float]) -> None:
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]

    def pick(self, rng: Random) -> int:
        index = bisect_right(self._cumulative, rng.random() * self._total)
        return min(index, len(self._cumulative) - 1)


class SeenBits:
    """A fixed-size bit set: "probably seen before" without memory growing with the input.

    A false positive only makes the caller draw again, so memory stays flat
    however many keys go in.
    """

    def __init__(self, bits_log2: int = 24) -> None:
        self._mask = (1 << bits_log2) - 1
        self._bits = bytearray(1 << (bits_log2 - 3))

    def add(self, key: int) -> bool:
        """Record `key`; False when it (probably) was there already."""
        slot = ((key * 0x9E3779B97F4A7C15) >> 17) & self._mask
        byte, bit = divmod(slot, 8)
        if self._bits[byte] >> bit & 1:
            return False
        self._bits[byte] |= 1 << bit
        return True


def money(cents: int) -> str:
    """An amount as the decimal string events carry ("19.90"), via Decimal."""
    return str(Decimal(cents).scaleb(-2))


def percent_of(cents: int, percent_off: int) -> int:
    """`cents` less `percent_off` percent, rounded half up to the cent."""
    return (cents * (100 - percent_off) + 50) // 100


def slugify(text: str) -> str:
    return _NON_SLUG.sub("-", text.lower()).strip("-")


def mix64(value: int) -> int:
    """SplitMix64 finaliser: a pure, well-spread hash so attributes can be recomputed."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def distinct(rng: Random, draw: Zipf, count: int, *, attempts: int = 4) -> list[int]:
    """Up to `count` distinct indices from `draw`, giving up on repeats after a few tries."""
    chosen: list[int] = []
    for _ in range(count * attempts):
        index = draw.pick(rng)
        if index not in chosen:
            chosen.append(index)
            if len(chosen) == count:
                break
    return chosen
