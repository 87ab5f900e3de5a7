// The public API on this page's origin: JSON in and out, errors as `ApiError`.

import { readEvents } from "./sse.js";
import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function retryAfterOf(response, body) {
  const header = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  if (Number.isFinite(header)) return header;
  const fromBody = body?.error?.retryAfter;
  return Number.isFinite(fromBody) ? fromBody : null;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body?.error ?? {};
  return new ApiError(
    response.status,
    error.code ?? "http_" + response.status,
    error.message ?? response.statusText ?? "request failed",
    retryAfterOf(response, body),
  );
}

async function send(path, { method = "GET", body, token, signal, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", t("errorNetwork"));
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/** A JSON request; resolves to the decoded body (null for 204). */
export async function request(path, options = {}) {
  const response = await send(path, options);
  if (response.status === 204) return null;
  return response.json();
}

/** A POST answered as Server-Sent Events: yields `{event, data, id}` with `data` decoded. */
export async function* stream(path, { body, token, signal }) {
  const response = await send(path, {
    method: "POST",
    body,
    token,
    signal,
    accept: "text/event-stream",
  });
  for await (const event of readEvents(response.body)) {
    let data = {};
    try {
      data = event.data ? JSON.parse(event.data) : {};
    } catch {
      continue; // not JSON: not an event of this API
    }
    yield { event: event.event, data, id: event.id };
  }
}

/** One readable line for any failure: the server's message and, when known, when to retry. */
export function describe(error) {
  if (!(error instanceof ApiError)) return String(error?.message ?? error);
  let message = error.message;
  if (error.status === 429) message = t("errorRateLimited") + " " + error.message;
  if (error.status === 503) message = t("errorUnavailable") + " " + error.message;
  if (error.retryAfter !== null && error.retryAfter !== undefined) {
    return t("errorRetry", { message, seconds: error.retryAfter });
  }
  return message;
}
