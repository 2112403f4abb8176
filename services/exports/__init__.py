"""The exports service."""
