"""What is stored and how it stays fresh: the event log, projections, read-model tables."""
