"""One registry of tools: the platform's capabilities as typed calls for models, ops commands
and MCP clients, each run with the caller's identity."""
