"""The pricing engine (pure), its loaders and the pricing field resolvers."""
