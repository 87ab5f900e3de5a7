// The guest session: created on first load, its token kept in local storage.

import { ApiError, describe, request } from "./api.js";
import { $, clearNotice, confirmAction, notify } from "./dom.js";
import { formatTime, onLanguageChange, t } from "./i18n.js";

const STORAGE_KEY = "agentPlatform.session";
const listeners = [];
let current = null;

function load() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    return stored && typeof stored.token === "string" ? stored : null;
  } catch {
    return null;
  }
}

function remember(session) {
  current = session;
  if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else localStorage.removeItem(STORAGE_KEY);
  render();
  for (const listener of listeners) listener(session);
}

function render() {
  const status = $("#session-status");
  $("#session-end").hidden = !current;
  $("#session-new").hidden = Boolean(current);
  status.textContent = current
    ? t("sessionActive", { time: formatTime(current.expiresAt) })
    : t("sessionEnded");
  status.dataset.state = current ? "active" : "none";
}

export function token() {
  return current?.token ?? null;
}

/** Call `listener(session)` whenever the session starts or ends. */
export function onSessionChange(listener) {
  listeners.push(listener);
}

export async function startNew() {
  const created = await request("/v1/sessions", { method: "POST" });
  remember({
    token: created.token,
    sessionId: created.sessionId,
    userId: created.userId,
    expiresAt: created.expiresAt,
  });
}

/** Reuse the stored session while the platform still accepts it; otherwise start one. */
export async function resume() {
  const stored = load();
  if (stored && new Date(stored.expiresAt) > new Date()) {
    try {
      const live = await request("/v1/sessions/current", { token: stored.token });
      remember({ ...stored, expiresAt: live.expiresAt });
      return;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
    }
  }
  await startNew();
}

export async function end() {
  const ending = current;
  if (!ending) return;
  try {
    await request("/v1/sessions/current", { method: "DELETE", token: ending.token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  remember(null);
}

/** A 401 on a guest route means the session is gone: say so and offer a new one. */
export function handleAuthFailure(error) {
  if (error instanceof ApiError && error.status === 401) {
    remember(null);
    notify(t("errorSession"));
    return true;
  }
  return false;
}

export function wireSessionControls() {
  onLanguageChange(render);
  $("#session-end").addEventListener("click", async () => {
    if (!(await confirmAction(t("confirmEndSession"), t("endSession")))) return;
    try {
      await end();
      $("#session-new").focus();
    } catch (error) {
      notify(describe(error));
    }
  });
  $("#session-new").addEventListener("click", async () => {
    try {
      await startNew();
      clearNotice();
      $("#session-end").focus();
    } catch (error) {
      notify(describe(error));
    }
  });
}
