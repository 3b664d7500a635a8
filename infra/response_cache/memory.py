"""The in-process level: an LRU bounded by bytes, with a tag index for invalidation.

Sizes are counted per entry (body, tags, a fixed overhead), so the budget
holds whether answers are 200 bytes or 200 KB. An entry larger than a
quarter of the budget is not kept: one huge answer must not flush the rest.
The tag index lets an invalidation drop exactly the entries that carry a
tag, without scanning.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from infra.response_cache.entry import CachedResponse


class MemoryLRU:
    """Entries by key, least recently used evicted first once `max_bytes` is exceeded."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.evictions = 0
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> CachedResponse | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: CachedResponse) -> bool:
        """Keep `entry` under `key` (replacing any); False when it is too large to keep."""
        self.delete(key)
        size = entry.size
        if size * 4 > self.max_bytes:
            return False
        self._entries[key] = entry
        self.bytes += size
        for tag in entry.tags:
            self._by_tag.setdefault(tag, set()).add(key)
        while self.bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self.delete(oldest)
            self.evictions += 1
        return True

    def delete(self, key: str) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self.bytes -= entry.size
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
        return True

    def delete_tagged(self, tags: Iterable[str], *, below: int | None = None) -> int:
        """Drop entries carrying one of `tags` (only those stamped below `below` if given:
        an entry computed after the invalidation's position is still good)."""
        dropped = 0
        for tag in tags:
            for key in list(self._by_tag.get(tag, ())):
                if below is None or self._entries[key].stamp < below:
                    dropped += self.delete(key)
        return dropped

    def clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self.bytes = 0
