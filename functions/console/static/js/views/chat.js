// Chat: an agent's conversations, and answers streamed token by token (SSE over fetch),
// shown as safe Markdown. Enter sends, Shift+Enter starts a new line; Stop asks the
// platform to cancel the answer and closes the stream.

import { describe, request, stream } from "../api.js";
import { $, clearNotice, el, notify } from "../dom.js";
import { formatPercent, onLanguageChange, t } from "../i18n.js";
import { renderMarkdown } from "../markdown.js";
import { handleAuthFailure, token } from "../session.js";
import { onAgentsChange, refreshAgents, state } from "../state.js";

// A conversation's title is its first message, on one line, cut to this many characters.
const TITLE_LENGTH = 60;
// Answers that ended before the model did: stopped by the person (`cancelled`) or cut off
// (`incomplete`). Both show what was received, marked as stopped.
const STOPPED = new Set(["cancelled", "incomplete"]);

let agentId = null;
let conversationId = null;
let conversations = []; // the chosen agent's, as last listed
// The answer being streamed: {controller, conversationId, messageId, stopping, settled}
// (`settled`: the answer as the cancel request returned it).
let running = null;
// Bumped by every action that fills the message log, so a slower earlier load that
// finishes later does not overwrite what the person has done since.
let generation = 0;

const path = (...parts) => parts.map(encodeURIComponent).join("/");

/** The first message as a title: whitespace folded to single spaces, cut with "…". */
export function titleFrom(content) {
  const line = content.replace(/\s+/g, " ").trim();
  const characters = Array.from(line);
  if (characters.length <= TITLE_LENGTH) return line;
  return characters.slice(0, TITLE_LENGTH).join("").trimEnd() + "…";
}

function conversationTitle(conversation) {
  const title = (conversation.title ?? "").trim();
  if (!title) return t("untitled");
  // The API's default title is English; say it in the interface's language.
  const agent = state.agents.find((candidate) => candidate.id === conversation.agentId);
  if (agent && title === `Chat with ${agent.name}`) return t("chatWith", { agent: agent.name });
  return title;
}

function translated(tag, key, className) {
  return el(tag, { className, dataset: { i18n: key } }, t(key));
}

function markStopped(item) {
  item.dataset.state = "stopped";
  if (!item.querySelector(".badge.stopped")) {
    item.querySelector(".message-head").append(translated("span", "answerStopped", "badge stopped"));
  }
}

function messageItem(message) {
  const assistant = message.role === "assistant";
  const head = el("div", { className: "message-head" }, translated("span", assistant ? "assistant" : "you", "message-author"));
  const item = el("li", { className: `message ${message.role}`, dataset: { state: message.status ?? "completed" } }, head);
  if (!assistant) {
    item.append(el("p", { className: "message-text plain" }, message.content ?? ""));
    return item;
  }
  head.append(el("span", { className: "badge persona" }));
  item.append(el("div", { className: "message-text" }, renderMarkdown(message.content ?? "")));
  showPersona(item, message);
  if (STOPPED.has(message.status)) markStopped(item);
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
    conversations = [];
    renderConversations();
    $("#messages").replaceChildren();
  }
  select.value = agentId ?? "";
  $("#conversation-new").disabled = !agentId;
  // With a single agent there is nothing to choose.
  if (!agentId && state.agents.length === 1) chooseAgent(state.agents[0].id);
}

function renderConversations() {
  $("#conversation-list").replaceChildren(
    ...conversations.map((conversation) => {
      const button = el("button", {
        type: "button",
        className: "link",
        textContent: conversationTitle(conversation),
        onclick: () => openConversation(conversation.id).catch(failed),
      });
      if (conversation.id === conversationId) button.setAttribute("aria-current", "true");
      return el("li", {}, button);
    }),
  );
}

async function loadConversations() {
  if (!agentId) {
    conversations = [];
    renderConversations();
    return [];
  }
  const asked = agentId;
  const page = await request(`/v1/conversations?agentId=${encodeURIComponent(asked)}`, { token: token() });
  if (asked !== agentId) return conversations;
  conversations = page.conversations;
  renderConversations();
  return conversations;
}

async function openConversation(id) {
  const mine = ++generation;
  conversationId = id;
  renderConversations();
  const page = await request(`/v1/conversations/${path(id)}/messages?limit=100`, { token: token() });
  if (mine !== generation) return;
  $("#messages").replaceChildren(...page.messages.map(messageItem));
}

/** "New conversation": an empty log; the conversation is created by its first message,
 * which gives it its title. */
function startConversation() {
  if (running) return;
  generation += 1;
  conversationId = null;
  $("#messages").replaceChildren();
  renderConversations();
  $("#chat-message").focus();
}

async function createConversation(title) {
  const created = await request("/v1/conversations", { method: "POST", body: { agentId, title }, token: token() });
  conversationId = created.id;
  conversations = [created, ...conversations];
  renderConversations();
  return created.id;
}

export async function chooseAgent(id) {
  const mine = ++generation;
  agentId = id || null;
  conversationId = null;
  fillAgents();
  $("#messages").replaceChildren();
  try {
    const listed = await loadConversations();
    if (mine !== generation || conversationId) return;
    if (listed.length > 0) await openConversation(listed[0].id);
  } catch (error) {
    failed(error);
  }
}

/** The Chat tab is shown: the agents may have changed elsewhere (another tab, the CLI). */
export function showChat() {
  refreshAgents().catch(failed);
}

function failed(error) {
  if (!handleAuthFailure(error)) notify(describe(error));
}

function setStreaming(on) {
  $("#chat-send").disabled = on;
  $("#chat-stop").disabled = !on;
}

/** The agent to send to: the chosen one, or the only one; null after saying what to do. */
async function agentToSendTo() {
  if (agentId) return agentId;
  if (state.agents.length === 0) await refreshAgents();
  if (state.agents.length === 1) {
    await chooseAgent(state.agents[0].id);
    return agentId;
  }
  if (state.agents.length === 0) notify(t("needAgent"));
  else {
    notify(t("pickAgent"));
    $("#chat-agent").focus();
  }
  return null;
}

async function send(event) {
  event.preventDefault();
  const input = $("#chat-message");
  const content = input.value.trim();
  if (!content || running) return;
  const log = $("#messages");
  const current = { controller: new AbortController(), conversationId: null, messageId: null, stopping: false, settled: null };
  running = current;
  setStreaming(true);
  let target = null;
  try {
    target = await agentToSendTo();
  } catch (error) {
    failed(error);
  }
  if (!target) {
    running = null;
    setStreaming(false);
    return;
  }
  let answer = null;
  try {
    generation += 1;
    current.conversationId = conversationId ?? (await createConversation(titleFrom(content)));
    input.value = "";
    log.append(messageItem({ role: "user", content, status: "completed" }));
    answer = messageItem({ role: "assistant", content: "", status: "streaming" });
    answer.setAttribute("aria-busy", "true"); // read out once complete, not at every piece
    log.append(answer);
    const text = answer.querySelector(".message-text");
    let received = "";
    for await (const { event: name, data } of stream(`/v1/conversations/${path(current.conversationId)}/messages`, {
      body: { content },
      token: token(),
      signal: current.controller.signal,
    })) {
      if (name === "message.created") {
        clearNotice();
        current.messageId = data.assistantMessage?.id ?? null;
        showPersona(answer, data.assistantMessage ?? {});
      } else if (name === "message.delta") {
        received += data.text ?? "";
        text.replaceChildren(renderMarkdown(received));
        answer.scrollIntoView({ block: "end" });
      } else if (name === "message.completed") {
        const message = data.message ?? {};
        if (STOPPED.has(message.status)) markStopped(answer);
        else answer.dataset.state = "completed";
        showPersona(answer, message);
      } else if (name === "error" && data.code === "cancelled") {
        markStopped(answer); // Stop, here or from another client
      } else if (name === "error") {
        answer.dataset.state = "failed";
        const problem = { message: data.message, retryAfter: data.retryAfter };
        text.append(el("p", { className: "error" }, t("answerFailed", { message: retryText(problem) })));
      } else if (name === "done") {
        break;
      }
      // Other events are ignored, as the contract asks of clients.
    }
    if (answer.dataset.state === "streaming") markStopped(answer);
  } catch (error) {
    if (error.name === "AbortError") {
      if (answer && current.settled?.status === "completed") {
        // It finished before the cancel arrived: show it whole.
        answer.querySelector(".message-text").replaceChildren(renderMarkdown(current.settled.content ?? ""));
        answer.dataset.state = "completed";
      } else if (answer) {
        markStopped(answer);
      }
    } else if (!handleAuthFailure(error)) {
      if (answer) answer.remove();
      if (!input.value) input.value = content;
      notify(describe(error));
    }
  } finally {
    answer?.removeAttribute("aria-busy");
    running = null;
    setStreaming(false);
    input.focus();
    loadConversations().catch(() => {});
  }
}

/** Stop: ask the platform to cancel the answer, then close the stream. A platform without
 * the cancel route (404, 405) or any other failure to cancel still gets the stream closed,
 * which stops the answer there too. */
async function stop() {
  const current = running;
  if (!current || current.stopping) return;
  current.stopping = true;
  $("#chat-stop").disabled = true;
  if (current.conversationId && current.messageId) {
    const cancel = `/v1/conversations/${path(current.conversationId, "messages", current.messageId, "cancel")}`;
    current.settled = await request(cancel, { method: "POST", token: token() }).catch(() => null);
  }
  current.controller.abort();
}

function retryText(problem) {
  return problem.retryAfter ? t("errorRetry", { message: problem.message, seconds: problem.retryAfter }) : problem.message;
}

export function wireChat() {
  onAgentsChange(fillAgents);
  onLanguageChange(() => {
    fillAgents();
    renderConversations();
  });
  $("#chat-agent").addEventListener("change", (event) => chooseAgent(event.target.value));
  $("#conversation-new").addEventListener("click", startConversation);
  $("#chat-form").addEventListener("submit", send);
  $("#chat-message").addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition (Korean,
    // Japanese...) only confirms the composed text.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    $("#chat-form").requestSubmit();
  });
  $("#chat-stop").addEventListener("click", stop);
  setStreaming(false);
}
