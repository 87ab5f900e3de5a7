// Dashboard: the guest's totals over their agents.

import { describe, request } from "../api.js";
import { $, clearNotice, notify } from "../dom.js";
import { formatNumber, formatPercent, onLanguageChange } from "../i18n.js";
import { handleAuthFailure, token } from "../session.js";
import { refreshAgents } from "../state.js";

let last = null;

function render() {
  if (!last) return;
  const { stats, agents } = last;
  const tokens = agents.reduce((sum, agent) => sum + (agent.stats?.inputTokens ?? 0) + (agent.stats?.outputTokens ?? 0), 0);
  $("#stat-agents").textContent = formatNumber(stats.totalAgents);
  $("#stat-active").textContent = formatNumber(stats.activeAgents);
  $("#stat-runs").textContent = formatNumber(stats.totalRuns);
  $("#stat-success").textContent = formatPercent(stats.successRate);
  $("#stat-tokens").textContent = formatNumber(tokens);
}

export async function showDashboard() {
  try {
    const [stats, agents] = await Promise.all([
      request("/v1/dashboard/stats", { token: token() }),
      refreshAgents(),
    ]);
    last = { stats, agents };
    clearNotice();
    render();
  } catch (error) {
    if (!handleAuthFailure(error)) notify(describe(error));
  }
}

export function wireDashboard() {
  onLanguageChange(render);
  $("#dashboard-refresh").addEventListener("click", showDashboard);
}
