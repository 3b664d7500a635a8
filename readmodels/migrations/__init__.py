"""Alembic migrations of every table Vitrine owns."""
