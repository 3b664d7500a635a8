"""The GraphQL surface: Strawberry types, inputs, enums, scalars and the root Query."""
