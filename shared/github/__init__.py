"""Capability: GitHub webhook deliveries: signature checks, normalisation, records and deploy
events.
"""
