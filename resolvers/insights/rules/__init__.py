"""One module per InsightKind: a versioned rule with documented thresholds."""
