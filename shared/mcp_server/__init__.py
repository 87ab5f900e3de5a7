"""The MCP server: the tool registry over MCP's Streamable HTTP, for any MCP client."""
