"""GraphQL types of pricing: promotions, applied promotions, carts."""
