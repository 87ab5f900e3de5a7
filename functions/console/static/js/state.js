// What several views show: the guest's agents and the personas. Views subscribe to changes.

import { request } from "./api.js";
import { token } from "./session.js";

const listeners = [];
export const state = { agents: [], personas: [] };

export function onAgentsChange(listener) {
  listeners.push(listener);
}

function changed() {
  for (const listener of listeners) listener(state.agents);
}

/** Every agent of the guest, following `nextPageToken`. */
export async function refreshAgents() {
  const agents = [];
  let pageToken = null;
  do {
    const query = new URLSearchParams({ limit: "100" });
    if (pageToken) query.set("pageToken", pageToken);
    const page = await request("/v1/agents?" + query, { token: token() });
    agents.push(...page.agents);
    pageToken = page.nextPageToken;
  } while (pageToken);
  state.agents = agents;
  changed();
  return agents;
}

export function clearAgents() {
  state.agents = [];
  changed();
}

export async function refreshPersonas() {
  const answer = await request("/v1/personas", { token: token() });
  state.personas = answer.personas;
  return state.personas;
}
