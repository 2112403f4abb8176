"""Contracts and plumbing shared by every service: the only code services have in common."""
