"""`agent-platform`: a command-line client of the platform's public HTTP API."""
