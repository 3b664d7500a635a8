"""Customer segments: which price segments each customer belongs to."""
