"""Resolvers and loaders of posts, feeds and creator counts."""
