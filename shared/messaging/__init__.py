"""Foundation: the event envelope, publishing and idempotent consumption, the outbox, and one
contract module per topic.
"""
