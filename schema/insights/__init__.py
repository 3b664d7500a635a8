"""GraphQL types of the creator dashboard and its insights."""
