"""Pricing read models: promotions and the index that finds a product's candidates."""
