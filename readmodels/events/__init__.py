"""The domain events of events.md: payload models, validation and the stored form."""

from readmodels.events.envelope import Event, EventError, StoredEvent, validate_events
from readmodels.events.registry import EVENT_TYPES

__all__ = ["EVENT_TYPES", "Event", "EventError", "StoredEvent", "validate_events"]
