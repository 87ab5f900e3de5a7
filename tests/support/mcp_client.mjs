// The official TypeScript MCP client against a running server: connect with a bearer
// token, list the tools, call one, and print what came back as one JSON line.
// Usage: node tests/support/mcp_client.mjs <url> <token> <tool> [arguments JSON]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, tool, args = "{}"] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "agent-platform-tests", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();
const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
await client.close();
console.log(JSON.stringify({ server: client.getServerVersion(), tools: tools.map((t) => t.name), result }));
