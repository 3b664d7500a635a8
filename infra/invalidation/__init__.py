"""Cache invalidation: projectors publish the tags a committed batch touched; every
gateway process drops what carries them (Redis pub/sub, or PostgreSQL NOTIFY)."""
