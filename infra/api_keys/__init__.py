"""Service API keys (stored hashed) and HMAC request signing for /events and /admin."""
