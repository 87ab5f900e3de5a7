// Operator view: shown only once the platform has accepted the operator token (one cheap
// operator GET). Alerts with their history; load-test runs with their SLO verdicts, each
// run's breaches and percentiles per endpoint, one endpoint's percentiles over time; and a
// button that runs a scenario and shows its progress.

import { ApiError, describe, request } from "../api.js";
import { lineChart } from "../charts.js";
import { $, clearNotice, el, notify } from "../dom.js";
import { formatNumber, formatPercent, formatTick, formatTime, onLanguageChange, t } from "../i18n.js";

const STORAGE_KEY = "agentPlatform.operatorToken";
// How long each scenario runs unless a duration is given (the load-test function's shapes).
const SCENARIO_SECONDS = { light: 15, medium: 30, heavy: 60, spike: 20 };
// One line of a run's `breaches`, as the load-test function writes it:
// "<endpoint>: <p95|p99|failure ratio> <value>[ms] > <objective>[ms]".
const BREACH = /^(.+): (p95|p99|failure ratio) ([\d.e+-]+)(?:ms)? > ([\d.e+-]+)(?:ms)?$/;
const BREACH_COLUMN = { p95: "p95Ms", p99: "p99Ms", "failure ratio": "failures" };

let runs = [];
let alerts = [];
let verified = null; // the token the platform last accepted
let running = false; // a load test is under way
let selectedRunId = null; // the run whose details are shown
let chartEndpoint = null;

function operatorToken() {
  return sessionStorage.getItem(STORAGE_KEY);
}

function refused(error) {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

/** Hide every operator panel and forbid a run (no token, or one the platform refused). */
function lock() {
  $("#operator-content").hidden = true;
  $("#loadtest-run").disabled = true;
  $("#panel-operator").dataset.operator = "locked";
}

function unlock() {
  $("#operator-content").hidden = false;
  $("#loadtest-run").disabled = running;
  $("#panel-operator").dataset.operator = "ready";
}

function forget() {
  sessionStorage.removeItem(STORAGE_KEY);
  verified = null;
  alerts = [];
  runs = [];
  selectedRunId = null;
  renderAlerts();
  renderRuns();
  lock();
}

function refusal(error) {
  return new ApiError(error.status, error.code, `${t("errorOperator")} ${error.message}`);
}

/** Check `value` with the cheapest operator GET; keep it only if the platform accepts it. */
async function useToken(value) {
  lock();
  try {
    await request("/v1/alerts?limit=1", { token: value });
  } catch (error) {
    if (refused(error)) {
      forget();
      notify(describe(refusal(error)));
    } else {
      notify(describe(error));
    }
    return false;
  }
  sessionStorage.setItem(STORAGE_KEY, value);
  verified = value;
  unlock();
  clearNotice();
  return true;
}

async function operatorRequest(path, options = {}) {
  try {
    return await request(path, { ...options, token: operatorToken() });
  } catch (error) {
    if (!refused(error)) throw error;
    forget();
    throw refusal(error);
  }
}

function milliseconds(value) {
  return formatNumber(Math.round(value));
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
        el("td", { className: "prose" }, alert.summary),
        el("td", {}, formatTime(alert.lastSeenAt)),
        el("td", { className: "number" }, formatNumber(alert.count)),
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
    clearNotice();
  } catch (error) {
    notify(describe(error));
  }
}

/** A breach line as `{endpoint, metric, value, limit}`, or null if it has another shape. */
function parseBreach(line) {
  const match = BREACH.exec(line);
  if (!match) return null;
  return { endpoint: match[1], metric: match[2], value: Number(match[3]), limit: Number(match[4]) };
}

function breachItem(line) {
  const breach = parseBreach(line);
  if (!breach) return el("li", {}, line);
  const sentence =
    breach.metric === "failure ratio"
      ? t("breachFailures", { value: formatPercent(breach.value), limit: formatPercent(breach.limit) })
      : t("breachLatency", { metric: breach.metric, value: milliseconds(breach.value), limit: milliseconds(breach.limit) });
  return el("li", { dataset: { endpoint: breach.endpoint, metric: breach.metric } }, el("code", {}, breach.endpoint), ": ", sentence);
}

/** A regression line ("<endpoint>: <what moved>") with its endpoint set apart. */
function regressionItem(line) {
  const at = line.indexOf(": ");
  if (at < 0) return el("li", {}, line);
  return el("li", {}, el("code", {}, line.slice(0, at)), ": ", line.slice(at + 2));
}

/** What qualifies a run's verdict: how many SLO breaches, whether it regressed. */
function verdictNotes(run) {
  const notes = [];
  if (run.breaches.length) notes.push(t("breachCount", { count: formatNumber(run.breaches.length) }));
  if (run.regression) notes.push(t("regression"));
  return notes;
}

function verdictText(run) {
  return [t(run.verdict), ...verdictNotes(run)].join(" · ");
}

function selectedRun() {
  return runs.find((run) => run.runId === selectedRunId) ?? runs[0] ?? null;
}

function endpointRow(name, summary, breached) {
  const cell = (column, text) => {
    const flagged = breached.has(column);
    return el(
      "td",
      { className: flagged ? "number breach" : "number", dataset: flagged ? { breach: column } : {} },
      text,
      flagged ? el("span", { className: "breach-mark", attrs: { "aria-hidden": "true" } }, " ▲") : null,
      flagged ? el("span", { className: "visually-hidden" }, ` (${t("overObjective")})`) : null,
    );
  };
  return el(
    "tr",
    { dataset: { endpoint: name } },
    el("th", { scope: "row" }, el("code", {}, name)),
    el("td", { className: "number" }, formatNumber(summary.requests)),
    cell("failures", formatNumber(summary.failures)),
    el("td", { className: "number" }, milliseconds(summary.p50Ms)),
    cell("p95Ms", milliseconds(summary.p95Ms)),
    cell("p99Ms", milliseconds(summary.p99Ms)),
  );
}

function renderDetail() {
  const run = selectedRun();
  $("#loadtest-result").hidden = !run;
  if (!run) return;
  $("#loadtest-result").dataset.verdict = run.verdict;
  $("#loadtest-result-title").textContent = t("runTitle", {
    time: formatTime(run.startedAt),
    scenario: run.scenario,
    verdict: verdictText(run),
  });
  $("#loadtest-breaches").replaceChildren(...run.breaches.map(breachItem));
  $("#loadtest-breaches-block").hidden = run.breaches.length === 0;
  $("#loadtest-regressions").replaceChildren(...run.regressions.map(regressionItem));
  $("#loadtest-regressions-block").hidden = run.regressions.length === 0;
  const breached = new Map();
  for (const breach of run.breaches.map(parseBreach).filter(Boolean)) {
    if (!breached.has(breach.endpoint)) breached.set(breach.endpoint, new Set());
    breached.get(breach.endpoint).add(BREACH_COLUMN[breach.metric]);
  }
  const names = Object.keys(run.endpoints ?? {}).sort();
  $("#loadtest-endpoints tbody").replaceChildren(
    ...names.map((name) => endpointRow(name, run.endpoints[name], breached.get(name) ?? new Set())),
  );
}

/** The endpoint the chart shows first: the selected run's slowest at p95. */
function slowestEndpoint(run) {
  const entries = Object.entries(run?.endpoints ?? {});
  if (entries.length === 0) return null;
  return entries.reduce((worst, entry) => (entry[1].p95Ms > worst[1].p95Ms ? entry : worst))[0];
}

function renderChart() {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run.endpoints ?? {})))].sort();
  const select = $("#loadtest-endpoint");
  select.replaceChildren(...names.map((name) => el("option", { value: name, textContent: name })));
  $("#loadtest-endpoint-field").hidden = names.length === 0;
  if (!names.includes(chartEndpoint)) chartEndpoint = slowestEndpoint(selectedRun()) ?? names[0] ?? null;
  const caption = $("#loadtest-chart-caption");
  if (!chartEndpoint) {
    caption.textContent = t("latencyOverTimeNone");
    $("#loadtest-chart").replaceChildren();
    return;
  }
  select.value = chartEndpoint;
  caption.textContent = t("latencyOverTime", { endpoint: chartEndpoint });
  const measured = [...runs].reverse().filter((run) => run.endpoints?.[chartEndpoint]);
  const points = (field) => measured.map((run) => [new Date(run.startedAt), run.endpoints[chartEndpoint][field]]);
  $("#loadtest-chart").replaceChildren(
    lineChart(
      [
        { name: "p50", className: "p50", shape: "circle", points: points("p50Ms") },
        { name: "p95", className: "p95", shape: "square", points: points("p95Ms") },
        { name: "p99", className: "p99", shape: "diamond", points: points("p99Ms") },
      ],
      {
        label: t("latencyChart", { endpoint: chartEndpoint, count: measured.length }),
        formatTick,
        axisTitle: t("runStarted"),
        unit: "ms",
      },
    ),
  );
}

function renderRuns() {
  const shown = selectedRun();
  $("#loadtests-table tbody").replaceChildren(
    ...runs.map((run) => {
      const details = el("button", {
        type: "button",
        className: "secondary",
        textContent: t("details"),
        attrs: { "aria-label": `${t("details")}: ${formatTime(run.startedAt)} ${run.scenario}` },
        onclick: () => {
          selectedRunId = run.runId;
          renderRuns();
          $("#loadtest-result").scrollIntoView({ block: "nearest" });
        },
      });
      if (run === shown) details.setAttribute("aria-current", "true");
      return el(
        "tr",
        { dataset: { runId: run.runId, verdict: run.verdict } },
        el("td", {}, formatTime(run.startedAt)),
        el("td", {}, run.scenario),
        el("td", { className: "number" }, formatNumber(run.totals.requests)),
        el("td", {}, el("span", { className: `badge ${run.verdict}` }, t(run.verdict)), " ", verdictNotes(run).join(" · ")),
        el("td", {}, details),
      );
    }),
  );
  $("#loadtests-empty").hidden = runs.length > 0;
  renderDetail();
  renderChart();
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
  const stored = operatorToken();
  if (!stored) {
    lock();
    return;
  }
  if (stored !== verified && !(await useToken(stored))) return;
  try {
    await Promise.all([refreshAlerts(), refreshRuns()]);
  } catch (error) {
    notify(describe(error));
  }
}

async function runLoadTest(event) {
  event.preventDefault();
  if (running || !verified) return;
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
  running = true;
  button.disabled = true;
  progress.hidden = false;
  progress.dataset.state = "running";
  tick();
  const timer = setInterval(tick, 250);
  try {
    const run = await operatorRequest("/v1/loadtests/runs", { method: "POST", body });
    clearInterval(timer);
    bar.value = bar.max;
    label.textContent = t("loadtestDone", { verdict: verdictText(run) });
    selectedRunId = run.runId;
    await refreshRuns();
    if (!runs.some((listed) => listed.runId === run.runId)) {
      runs = [run, ...runs];
      renderRuns();
    }
    progress.dataset.state = "done";
    clearNotice();
  } catch (error) {
    progress.hidden = true;
    progress.dataset.state = "failed";
    notify(describe(error));
  } finally {
    clearInterval(timer);
    running = false;
    button.disabled = !verified;
  }
}

export function wireOperator() {
  onLanguageChange(() => {
    renderAlerts();
    renderRuns();
  });
  $("#operator-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#operator-token");
    const value = input.value.trim();
    input.value = "";
    if (value && (await useToken(value))) await showOperator();
  });
  $("#operator-forget").addEventListener("click", forget);
  $("#alerts-refresh").addEventListener("click", () =>
    refreshAlerts().then(clearNotice, (error) => notify(describe(error))),
  );
  $("#loadtests-refresh").addEventListener("click", () =>
    refreshRuns().then(clearNotice, (error) => notify(describe(error))),
  );
  $("#loadtest-endpoint").addEventListener("change", (event) => {
    chartEndpoint = event.target.value;
    renderChart();
  });
  $("#loadtest-form").addEventListener("submit", runLoadTest);
  lock();
}
