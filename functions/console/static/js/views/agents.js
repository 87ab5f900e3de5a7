// Agents: the list with run statistics, the "New agent" / edit dialog, delete with a
// confirmation.

import { describe, request } from "../api.js";
import { $, clearNotice, confirmAction, el, notify } from "../dom.js";
import { formatNumber, formatPercent, onLanguageChange, t } from "../i18n.js";
import { handleAuthFailure, token } from "../session.js";
import { onAgentsChange, refreshAgents, refreshPersonas, state } from "../state.js";

const DEFAULT_MODEL = "claude-sonnet-4-6";
let editing = null; // the agent being edited, or null when creating
let openChat = () => {};

function statsLine(agent) {
  const stats = agent.stats ?? {};
  if (!stats.totalRuns) return t("noRunsYet");
  return t("agentStats", {
    runs: formatNumber(stats.totalRuns),
    success: formatPercent(stats.successfulRuns / stats.totalRuns),
    tokens: formatNumber((stats.inputTokens ?? 0) + (stats.outputTokens ?? 0)),
    latency: stats.avgLatencyMs ? formatNumber(Math.round(stats.avgLatencyMs)) + " ms" : "–",
  });
}

function personaLabel(agent) {
  if (agent.persona === "auto") return t("personaAuto");
  return agent.persona ?? t("personaNone");
}

function card(agent) {
  const name = el("h3", { className: "card-title" }, agent.name);
  return el(
    "li",
    { className: "card", dataset: { agentId: agent.id } },
    name,
    el("p", { className: "muted" }, `${agent.model} · ${t("persona")}: ${personaLabel(agent)}`),
    el("p", { className: "stats", dataset: { testid: "agent-stats" } }, statsLine(agent)),
    el(
      "div",
      { className: "actions" },
      el("button", {
        type: "button",
        textContent: t("chat"),
        attrs: { "aria-label": `${t("chat")}: ${agent.name}` },
        onclick: () => openChat(agent.id),
      }),
      el("button", {
        type: "button",
        className: "secondary",
        textContent: t("edit"),
        attrs: { "aria-label": `${t("edit")}: ${agent.name}` },
        onclick: () => openDialog(agent),
      }),
      el("button", {
        type: "button",
        className: "danger",
        textContent: t("delete"),
        attrs: { "aria-label": `${t("delete")}: ${agent.name}` },
        onclick: () => confirmDelete(agent),
      }),
    ),
  );
}

function render() {
  const list = $("#agent-list");
  list.replaceChildren(...state.agents.map(card));
  $("#agents-empty").hidden = state.agents.length > 0;
}

function fillPersonas(selected) {
  const options = [
    el("option", { value: "", textContent: t("personaNone") }),
    el("option", { value: "auto", textContent: t("personaAuto") }),
    ...state.personas.map((persona) =>
      el("option", { value: persona.name, textContent: `${persona.name} — ${persona.title}` }),
    ),
  ];
  const select = $("#agent-persona");
  select.replaceChildren(...options);
  select.value = selected ?? "";
}

async function openDialog(agent = null) {
  editing = agent;
  if (state.personas.length === 0) {
    try {
      await refreshPersonas();
    } catch (error) {
      notify(describe(error));
    }
  }
  $("#agent-dialog-title").textContent = agent ? t("editAgent") : t("newAgent");
  $("#agent-submit").textContent = agent ? t("save") : t("create");
  $("#agent-name").value = agent?.name ?? "";
  $("#agent-prompt").value = agent?.systemPrompt ?? "";
  $("#agent-model").value = agent?.model ?? DEFAULT_MODEL;
  fillPersonas(agent ? agent.persona : "auto");
  $("#agent-form-error").hidden = true;
  $("#agent-dialog").showModal();
  $("#agent-name").focus();
}

async function submit(event) {
  event.preventDefault();
  const body = {
    name: $("#agent-name").value.trim(),
    systemPrompt: $("#agent-prompt").value,
    model: $("#agent-model").value.trim(),
    persona: $("#agent-persona").value || null,
  };
  const button = $("#agent-submit");
  button.disabled = true;
  try {
    if (editing) {
      await request(`/v1/agents/${encodeURIComponent(editing.id)}`, { method: "PATCH", body, token: token() });
    } else {
      await request("/v1/agents", { method: "POST", body, token: token() });
    }
    $("#agent-dialog").close();
    clearNotice();
    await refreshAgents();
    $("#agent-new").focus();
  } catch (error) {
    if (handleAuthFailure(error)) {
      $("#agent-dialog").close();
      return;
    }
    const problem = $("#agent-form-error");
    problem.textContent = describe(error);
    problem.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function confirmDelete(agent) {
  if (!(await confirmAction(t("confirmDelete", { name: agent.name }), t("delete")))) return;
  try {
    await request(`/v1/agents/${encodeURIComponent(agent.id)}`, { method: "DELETE", token: token() });
    clearNotice();
    await refreshAgents();
    $("#agent-new").focus();
  } catch (error) {
    if (!handleAuthFailure(error)) notify(describe(error));
  }
}

export async function showAgents() {
  try {
    await refreshAgents();
  } catch (error) {
    if (!handleAuthFailure(error)) notify(describe(error));
  }
}

export function wireAgents({ onChat }) {
  openChat = onChat;
  onAgentsChange(render);
  onLanguageChange(render);
  $("#agent-new").addEventListener("click", () => openDialog(null));
  $("#agent-form").addEventListener("submit", submit);
  $("#agent-cancel").addEventListener("click", () => $("#agent-dialog").close());
}
