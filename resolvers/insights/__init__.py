"""Creator insights: the metrics a dashboard reads, the rules pipeline (pure), the
insight state, and the dashboard's resolvers."""
