"""Capability: agents (storage, request/response models) and their run statistics."""
