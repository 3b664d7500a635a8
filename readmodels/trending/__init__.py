"""Trending: posts ranked by time-decayed engagement, per window."""
