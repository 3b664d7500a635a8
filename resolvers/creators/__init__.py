"""Resolvers and loaders of creator profiles."""
