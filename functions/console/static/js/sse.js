// Server-Sent Events from a fetch() body (EventSource cannot POST or send a bearer token).

function parseFrame(frame) {
  const parsed = { event: "message", data: "", id: null };
  const data = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") parsed.event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") parsed.id = value;
  }
  if (data.length === 0 && parsed.event === "message") return null;
  parsed.data = data.join("\n");
  return parsed;
}

/** Yields `{event, data, id}` per frame as bytes arrive; UTF-8 split across reads is kept whole. */
export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = (buffer + value).replace(/\r\n?/g, "\n");
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame) yield frame;
        end = buffer.indexOf("\n\n");
      }
    }
    const last = parseFrame(buffer);
    if (last) yield last;
  } finally {
    reader.cancel().catch(() => {});
  }
}
