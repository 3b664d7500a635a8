"""The event log: the source of truth every read model is rebuilt from."""
