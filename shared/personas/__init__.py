"""Capability: the persona set, message analysis, routing, and answers in a persona's voice."""
