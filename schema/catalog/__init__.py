"""GraphQL types of the catalog."""
