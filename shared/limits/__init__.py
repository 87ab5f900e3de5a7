"""Capability: spend and rate limits (per-user chat quotas, per-address windows)."""
