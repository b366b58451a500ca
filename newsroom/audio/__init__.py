"""Audio measurement and mastering."""
