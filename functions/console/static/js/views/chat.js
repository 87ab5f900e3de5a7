// Chat: an agent's conversations, and answers streamed token by token (SSE over fetch).

import { describe, request, stream } from "../api.js";
import { $, el, notify } from "../dom.js";
import { formatPercent, onLanguageChange, t } from "../i18n.js";
import { handleAuthFailure, token } from "../session.js";
import { onAgentsChange, state } from "../state.js";

let agentId = null;
let conversationId = null;
let running = null; // the AbortController of the answer being streamed
// Bumped by every action that fills the message log, so a slower earlier load that
// finishes later does not overwrite what the person has done since.
let generation = 0;

function messageItem(message) {
  const assistant = message.role === "assistant";
  const body = el("p", { className: "message-text", textContent: message.content ?? "" });
  const item = el(
    "li",
    { className: `message ${message.role}`, dataset: { state: message.status ?? "completed" } },
    el("span", { className: "message-author" }, assistant ? t("assistant") : t("you")),
    body,
  );
  if (assistant) {
    item.append(el("span", { className: "badge persona" }));
    showPersona(item, message);
  }
  if (message.status === "incomplete") body.append(" ", el("em", {}, t("answerStopped")));
  return item;
}

function showPersona(item, message) {
  const badge = item.querySelector(".persona");
  badge.hidden = !message.persona;
  if (message.persona) {
    const confidence = message.confidence === null || message.confidence === undefined ? "–" : formatPercent(message.confidence);
    badge.textContent = t("personaBadge", { persona: message.persona, confidence });
  }
}

function fillAgents() {
  const select = $("#chat-agent");
  const options = [el("option", { value: "", textContent: t("chooseAgent") })];
  for (const agent of state.agents) options.push(el("option", { value: agent.id, textContent: agent.name }));
  select.replaceChildren(...options);
  if (agentId && !state.agents.some((agent) => agent.id === agentId)) {
    agentId = null;
    conversationId = null;
    $("#conversation-list").replaceChildren();
    $("#messages").replaceChildren();
  }
  select.value = agentId ?? "";
  $("#conversation-new").disabled = !agentId;
}

async function loadConversations() {
  const list = $("#conversation-list");
  list.replaceChildren();
  if (!agentId) return [];
  const page = await request(`/v1/conversations?agentId=${encodeURIComponent(agentId)}`, { token: token() });
  for (const conversation of page.conversations) {
    const button = el("button", {
      type: "button",
      className: "link",
      textContent: conversation.title || t("untitled"),
      onclick: () => openConversation(conversation.id),
    });
    if (conversation.id === conversationId) button.setAttribute("aria-current", "true");
    list.append(el("li", {}, button));
  }
  return page.conversations;
}

async function openConversation(id) {
  const mine = ++generation;
  conversationId = id;
  const page = await request(`/v1/conversations/${encodeURIComponent(id)}/messages?limit=100`, { token: token() });
  if (mine !== generation) return;
  $("#messages").replaceChildren(...page.messages.map(messageItem));
  for (const button of $("#conversation-list").querySelectorAll("button")) button.removeAttribute("aria-current");
  await loadConversations();
}

async function newConversation() {
  generation += 1;
  const created = await request("/v1/conversations", { method: "POST", body: { agentId }, token: token() });
  conversationId = created.id;
  $("#messages").replaceChildren();
  await loadConversations();
  return created.id;
}

export async function chooseAgent(id) {
  const mine = ++generation;
  agentId = id || null;
  conversationId = null;
  fillAgents();
  $("#messages").replaceChildren();
  try {
    const conversations = await loadConversations();
    if (mine !== generation || conversationId) return;
    if (conversations.length > 0) await openConversation(conversations[0].id);
  } catch (error) {
    if (!handleAuthFailure(error)) notify(describe(error));
  }
}

function setStreaming(on) {
  $("#chat-send").disabled = on;
  $("#chat-stop").disabled = !on;
}

async function send(event) {
  event.preventDefault();
  const input = $("#chat-message");
  const content = input.value.trim();
  if (!content || running) return;
  if (!agentId) {
    notify(t("needAgent"));
    return;
  }
  const log = $("#messages");
  const controller = new AbortController();
  generation += 1;
  running = controller;
  setStreaming(true);
  let answer = null;
  try {
    const id = conversationId ?? (await newConversation());
    input.value = "";
    log.append(messageItem({ role: "user", content, status: "completed" }));
    answer = messageItem({ role: "assistant", content: "", status: "streaming" });
    log.append(answer);
    const text = answer.querySelector(".message-text");
    for await (const { event: name, data } of stream(`/v1/conversations/${encodeURIComponent(id)}/messages`, {
      body: { content },
      token: token(),
      signal: controller.signal,
    })) {
      if (name === "message.created") {
        showPersona(answer, data.assistantMessage ?? {});
      } else if (name === "message.delta") {
        text.append(data.text ?? "");
        answer.scrollIntoView({ block: "end" });
      } else if (name === "message.completed") {
        answer.dataset.state = "completed";
        showPersona(answer, data.message ?? {});
      } else if (name === "error") {
        answer.dataset.state = "failed";
        const problem = { status: 0, message: data.message, retryAfter: data.retryAfter };
        text.append(el("span", { className: "error" }, " " + t("answerFailed", { message: retryText(problem) })));
      } else if (name === "done") {
        break;
      }
      // Other events are ignored, as the contract asks of clients.
    }
    if (answer.dataset.state === "streaming") answer.dataset.state = "incomplete";
  } catch (error) {
    if (error.name === "AbortError") {
      if (answer) {
        answer.dataset.state = "incomplete";
        answer.querySelector(".message-text").append(" ", el("em", {}, t("answerStopped")));
      }
    } else if (!handleAuthFailure(error)) {
      if (answer) answer.remove();
      if (!input.value) input.value = content;
      notify(describe(error));
    }
  } finally {
    running = null;
    setStreaming(false);
    input.focus();
    loadConversations().catch(() => {});
  }
}

function retryText(problem) {
  return problem.retryAfter ? t("errorRetry", { message: problem.message, seconds: problem.retryAfter }) : problem.message;
}

export function wireChat() {
  onAgentsChange(fillAgents);
  onLanguageChange(fillAgents);
  $("#chat-agent").addEventListener("change", (event) => chooseAgent(event.target.value));
  $("#conversation-new").addEventListener("click", () =>
    newConversation().catch((error) => handleAuthFailure(error) || notify(describe(error))),
  );
  $("#chat-form").addEventListener("submit", send);
  $("#chat-message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("#chat-form").requestSubmit();
  });
  $("#chat-stop").addEventListener("click", () => running?.abort());
  setStreaming(false);
}
