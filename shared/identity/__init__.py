"""Capability: guest sessions, bearer-token authentication and operator admission."""
