"""Capability: alert state (fingerprints, grouping, silences), sources, records and Slack
delivery.
"""
