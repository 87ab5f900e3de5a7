"""One module per Pub/Sub topic: its name, event types and typed `data`, shared by producer and
consumers.
"""
