// Operator view: alerts with their history, load-test runs with their percentiles over
// time and SLO verdicts, and a button that runs a scenario and shows its progress.

import { ApiError, describe, request } from "../api.js";
import { lineChart } from "../charts.js";
import { $, el, notify } from "../dom.js";
import { formatNumber, formatTime, onLanguageChange, t } from "../i18n.js";

const STORAGE_KEY = "agentPlatform.operatorToken";
// How long each scenario runs unless a duration is given (the load-test function's shapes).
const SCENARIO_SECONDS = { light: 15, medium: 30, heavy: 60, spike: 20 };
let runs = [];
let alerts = [];

function operatorToken() {
  return sessionStorage.getItem(STORAGE_KEY);
}

async function operatorRequest(path, options = {}) {
  try {
    return await request(path, { ...options, token: operatorToken() });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      throw new ApiError(401, error.code, `${t("errorOperator")} ${error.message}`);
    }
    throw error;
  }
}

function milliseconds(value) {
  return formatNumber(Math.round(value));
}

/** The worst percentile over a run's endpoints: what the run's user would have seen. */
function worst(run, field) {
  return Math.max(0, ...Object.values(run.endpoints ?? {}).map((endpoint) => endpoint[field] ?? 0));
}

function renderAlerts() {
  const body = $("#alerts-table tbody");
  body.replaceChildren(
    ...alerts.map((alert) =>
      el(
        "tr",
        { dataset: { alertId: alert.id, status: alert.status } },
        el("td", {}, el("span", { className: `badge ${alert.status}` }, alert.status)),
        el("td", {}, alert.severity),
        el("td", {}, alert.summary),
        el("td", {}, formatTime(alert.lastSeenAt)),
        el("td", {}, formatNumber(alert.count)),
        el(
          "td",
          {},
          el("button", {
            type: "button",
            className: "secondary",
            textContent: t("history"),
            attrs: { "aria-label": `${t("history")}: ${alert.summary}` },
            onclick: () => showHistory(alert.id),
          }),
        ),
      ),
    ),
  );
  $("#alerts-empty").hidden = alerts.length > 0;
}

async function showHistory(id) {
  try {
    const alert = await operatorRequest(`/v1/alerts/${encodeURIComponent(id)}`);
    $("#alert-history-title").textContent = t("alertHistoryTitle", { summary: alert.summary });
    const lines = (alert.notifications ?? []).map((note) =>
      el("li", {}, t("notificationLine", { time: formatTime(note.sentAt), channel: note.channel, title: note.title })),
    );
    $("#alert-history-list").replaceChildren(...(lines.length ? lines : [el("li", { className: "muted" }, t("noNotifications"))]));
    $("#alert-history").hidden = false;
  } catch (error) {
    notify(describe(error));
  }
}

function renderRuns() {
  const body = $("#loadtests-table tbody");
  body.replaceChildren(
    ...runs.map((run) => {
      const verdict = t(run.verdict) + (run.regression ? ` · ${t("regression")}` : "");
      const why = [...run.breaches, ...run.regressions].join("\n");
      return el(
        "tr",
        { dataset: { runId: run.runId, verdict: run.verdict } },
        el("td", {}, formatTime(run.startedAt)),
        el("td", {}, run.scenario),
        el("td", {}, formatNumber(run.totals.requests)),
        el("td", {}, milliseconds(worst(run, "p50Ms"))),
        el("td", {}, milliseconds(worst(run, "p95Ms"))),
        el("td", {}, milliseconds(worst(run, "p99Ms"))),
        el("td", { title: why }, el("span", { className: `badge ${run.verdict}` }, verdict)),
      );
    }),
  );
  $("#loadtests-empty").hidden = runs.length > 0;
  const oldestFirst = [...runs].reverse();
  const points = (field) => oldestFirst.map((run) => [new Date(run.startedAt), worst(run, field)]);
  $("#loadtest-chart").replaceChildren(
    lineChart(
      [
        { name: "p50", className: "p50", points: points("p50Ms") },
        { name: "p95", className: "p95", points: points("p95Ms") },
        { name: "p99", className: "p99", points: points("p99Ms") },
      ],
      { label: t("latencyChart", { count: runs.length }) },
    ),
  );
}

async function refreshAlerts() {
  alerts = (await operatorRequest("/v1/alerts?limit=50")).alerts;
  renderAlerts();
}

async function refreshRuns() {
  runs = (await operatorRequest("/v1/loadtests/runs?limit=50")).runs;
  renderRuns();
}

export async function showOperator() {
  const ready = Boolean(operatorToken());
  $("#operator-content").hidden = !ready;
  if (!ready) return;
  try {
    await Promise.all([refreshAlerts(), refreshRuns()]);
  } catch (error) {
    notify(describe(error));
  }
}

async function runLoadTest(event) {
  event.preventDefault();
  const scenario = $("#loadtest-scenario").value;
  const duration = Number.parseInt($("#loadtest-duration").value, 10);
  const total = Number.isFinite(duration) && duration > 0 ? duration : SCENARIO_SECONDS[scenario] ?? 30;
  const body = { scenario, targetBaseUrl: location.origin };
  if (Number.isFinite(duration) && duration > 0) body.durationSeconds = duration;
  const button = $("#loadtest-run");
  const progress = $("#loadtest-progress");
  const bar = $("#loadtest-progress-bar");
  const label = $("#loadtest-progress-label");
  const started = performance.now();
  const tick = () => {
    const elapsed = (performance.now() - started) / 1000;
    bar.max = total;
    bar.value = Math.min(elapsed, total);
    label.textContent =
      elapsed < total
        ? t("loadtestRunning", { scenario, elapsed: Math.floor(elapsed), total })
        : t("loadtestFinishing", { scenario });
  };
  button.disabled = true;
  progress.hidden = false;
  progress.dataset.state = "running";
  tick();
  const timer = setInterval(tick, 250);
  try {
    const run = await operatorRequest("/v1/loadtests/runs", { method: "POST", body });
    bar.value = bar.max;
    label.textContent = t("loadtestDone", { id: run.runId, verdict: t(run.verdict) });
    await refreshRuns();
    progress.dataset.state = "done";
  } catch (error) {
    progress.hidden = true;
    progress.dataset.state = "failed";
    notify(describe(error));
  } finally {
    clearInterval(timer);
    button.disabled = false;
  }
}

export function wireOperator() {
  onLanguageChange(() => {
    renderAlerts();
    renderRuns();
  });
  $("#operator-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("#operator-token");
    sessionStorage.setItem(STORAGE_KEY, input.value.trim());
    input.value = "";
    showOperator();
  });
  $("#operator-forget").addEventListener("click", () => {
    sessionStorage.removeItem(STORAGE_KEY);
    alerts = [];
    runs = [];
    renderAlerts();
    renderRuns();
    $("#operator-content").hidden = true;
  });
  $("#alerts-refresh").addEventListener("click", () => refreshAlerts().catch((error) => notify(describe(error))));
  $("#loadtests-refresh").addEventListener("click", () => refreshRuns().catch((error) => notify(describe(error))));
  $("#loadtest-form").addEventListener("submit", runLoadTest);
}
