"""Capability: the model layer: Claude through the `anthropic` SDK, or the built-in offline
model.
"""
