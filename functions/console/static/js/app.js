// The console's start: language, tabs, the guest session, then each view.

import { describe } from "./api.js";
import { $, clearNotice, notify } from "./dom.js";
import { applyTranslations, language, setLanguage } from "./i18n.js";
import { onSessionChange, resume, wireSessionControls } from "./session.js";
import { clearAgents } from "./state.js";
import { showAgents, wireAgents } from "./views/agents.js";
import { chooseAgent, showChat, wireChat } from "./views/chat.js";
import { showDashboard, wireDashboard } from "./views/dashboard.js";
import { showOperator, wireOperator } from "./views/operator.js";
import { wireRouter } from "./views/router.js";

const ON_SHOW = {
  agents: showAgents,
  chat: showChat,
  dashboard: showDashboard,
  operator: showOperator,
};

function tabs() {
  return [...document.querySelectorAll('[role="tab"]')];
}

/** Shows `tab`'s panel. A change the person makes also clears the error notice: it spoke
 * of the view they are leaving. */
function select(tab, { focus = false, byPerson = true } = {}) {
  if (byPerson) clearNotice();
  for (const other of tabs()) {
    const chosen = other === tab;
    other.setAttribute("aria-selected", String(chosen));
    other.tabIndex = chosen ? 0 : -1;
    $("#" + other.getAttribute("aria-controls")).hidden = !chosen;
  }
  if (focus) tab.focus();
  const name = tab.id.replace("tab-", "");
  location.hash = name;
  ON_SHOW[name]?.();
}

function wireTabs() {
  const list = tabs();
  for (const tab of list) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const index = list.indexOf(tab);
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: list.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select(list[(moves[event.key] + list.length) % list.length], { focus: true });
    });
  }
}

function openChat(agentId) {
  select($("#tab-chat"));
  chooseAgent(agentId);
  $("#chat-message").focus();
}

async function start() {
  applyTranslations();
  const languageSelect = $("#language");
  languageSelect.value = language();
  languageSelect.addEventListener("change", () => setLanguage(languageSelect.value));
  wireTabs();
  wireSessionControls();
  wireAgents({ onChat: openChat });
  wireChat();
  wireRouter();
  wireDashboard();
  wireOperator();
  onSessionChange((session) => {
    if (!session) clearAgents();
    else {
      clearNotice();
      showAgents();
    }
  });
  try {
    await resume();
  } catch (error) {
    notify(describe(error));
  }
  const fromHash = document.getElementById("tab-" + location.hash.slice(1));
  const initial = fromHash?.getAttribute("role") === "tab" ? fromHash : $("#tab-agents");
  select(initial, { byPerson: false });
  document.body.dataset.ready = "true";
}

start();
