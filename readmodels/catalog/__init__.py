"""The catalog domain's read models: stores, categories, collections, products, listings."""
