"""Creator profiles (the feeds domain adds posts and follows to them)."""
