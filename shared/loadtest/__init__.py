"""Capability: load-test runs: the bounded runner, scenarios, SLO verdicts and stored results."""
