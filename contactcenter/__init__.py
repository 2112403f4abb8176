"""Runs the services: all five in one process (`contactcenter up`) or one alone."""
