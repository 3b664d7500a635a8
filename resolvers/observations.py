"""What one request did, counted on every request, sampled or not, for /metrics.

Spans describe the sampled few in detail; these counts describe every request
cheaply: a counter bump or a list append where the work happens, read once
when the request ends (statements per request, DataLoader batch sizes,
resolver durations by field).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Observations:
    """Filled in by loaders and traced resolvers during one request.

    `statements`: SQL statements run for the request.
    `batches`: (loader class name, batch size) for each DataLoader batch.
    `fields`: "Parent.field" -> the duration in seconds of each call of a
    non-trivial resolver (until its value resolved, for one that returns a
    future).
    """

    statements: int = 0
    batches: list[tuple[str, int]] = field(default_factory=list)
    fields: dict[str, list[float]] = field(default_factory=dict)
