"""GraphQL types of creators and their posts."""
