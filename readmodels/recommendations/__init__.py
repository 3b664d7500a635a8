"""Bought-together recommendations, from orders and their cancellations."""
