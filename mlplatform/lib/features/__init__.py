"""Feature set v1 (FEATURES.md) and the daily cost features."""
