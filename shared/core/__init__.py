"""Foundation: settings, the error hierarchy (with HTTP statuses), ids, logging, trace context,
base models, process state.
"""
