"""Resolvers and loaders of the catalog domain."""
