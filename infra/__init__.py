"""Plumbing (settings, database, telemetry, logging) and composition (app, CLI).

Plumbing modules import nothing of ours; only the composition modules
(`infra.app`, `infra.cli`, `infra.ingest`) know how the pieces are wired.
"""
