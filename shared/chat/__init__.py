"""Capability: conversations, messages and chat runs (admission, history, streaming,
bookkeeping).
"""
