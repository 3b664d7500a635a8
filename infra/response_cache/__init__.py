"""The tag-invalidated response cache: policies, keys, levels (L1 memory, L2 Redis)."""
