"""Feed read models: published posts, the follow graph, engagement counters."""
