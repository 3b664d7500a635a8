"""Trending posts: the loader of precomputed rankings and the root field."""
