"""Bought-together recommendations: the loader of ranked ids and the Product field."""
