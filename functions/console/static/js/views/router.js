// Persona router: which persona would answer a message, with every score as a bar.

import { describe, request } from "../api.js";
import { barChart } from "../charts.js";
import { $, clearNotice, el, notify } from "../dom.js";
import { formatPercent, onLanguageChange, t } from "../i18n.js";
import { handleAuthFailure, token } from "../session.js";

let last = null;

function render() {
  if (!last) return;
  const entries = Object.entries(last.scores);
  const values = entries.map(([name, score]) => `${name} ${formatPercent(score)}`).join(", ");
  $("#route-persona").textContent = last.persona;
  $("#route-confidence").textContent = formatPercent(last.confidence);
  $("#route-chart").replaceChildren(barChart(entries, { label: t("scoresChart", { values }), highlight: last.persona }));
  $("#route-scores").replaceChildren(
    ...entries.map(([name, score]) => el("li", { dataset: { persona: name } }, `${name}: ${formatPercent(score)}`)),
  );
  $("#route-secondary").textContent = last.secondary ?? "–";
  $("#route-resonance").textContent = last.resonanceKey;
  $("#route-reasoning").textContent = last.reasoning;
  $("#route-result").hidden = false;
}

async function route(event) {
  event.preventDefault();
  const message = $("#route-message").value.trim();
  if (!message) return;
  const button = $("#route-submit");
  button.disabled = true;
  try {
    last = await request("/v1/personas/route", { method: "POST", body: { message }, token: token() });
    clearNotice();
    render();
  } catch (error) {
    if (!handleAuthFailure(error)) notify(describe(error));
  } finally {
    button.disabled = false;
  }
}

export function wireRouter() {
  onLanguageChange(render);
  $("#route-form").addEventListener("submit", route);
}
