// The home page's lists: recent experiments (with their outcome, selectable for comparison) and
// recent sweeps (with how their runs ended). Every row opens what it lists.

import { api } from "./api.js";
import { badge, html } from "./html.js";

// Experiment ids ticked for comparison; kept while the page refreshes itself.
export const selected = new Set();

const number = (v) => (v == null ? "–" : Number.isInteger(v) ? String(v) : v.toPrecision(4));
const horizonOf = (summary) => summary?.gradient_horizon?.at(-1)?.[0] ?? null;

// What never changes once read: ended experiments' summaries, finished sweeps. The home page
// refreshes itself every few seconds while runs are active; it asks only for the rest.
const summaryOf = new Map();
const finishedSweep = new Map();

// The summaries of the ended experiments among `items` (the list's numbers lack `solved`).
export async function summaries(items, finalStatuses) {
  const unread = items.filter((j) => finalStatuses.includes(j.status) && !summaryOf.has(j.id));
  for (const job of await Promise.all(unread.map((j) => api(`/v1/experiments/${j.id}`)))) {
    summaryOf.set(job.id, job.summary);
  }
  return summaryOf;
}

// The sweeps with their members (and so their outcomes).
export async function sweepsInFull(items) {
  const sweeps = await Promise.all(items.map((s) => finishedSweep.get(s.id) ?? api(`/v1/sweeps/${s.id}`)));
  for (const sweep of sweeps) if (sweep.status === "finished") finishedSweep.set(sweep.id, sweep);
  return sweeps;
}

export function experimentTable(items, outcomes) {
  if (!items.length) return html`<p>None yet.</p>`;
  const rows = items.map((j) => {
    const s = outcomes.get(j.id);
    return html`<tr class="clickable" data-id="${j.id}">
    <td><input type="checkbox" class="pick" value="${j.id}" ${selected.has(j.id) ? "checked" : ""} title="select to compare"></td>
    <td><a href="#/experiments/${j.id}">${j.id.slice(0, 8)}</a></td><td>${j.name}</td>
    <td>${j.spec.cell}</td><td>${j.spec.task}</td><td>${j.spec.seq_len}</td><td>${j.spec.hidden_size}</td>
    <td>${j.spec.clipping.mode}</td><td>${badge(j.status)}</td><td><progress value="${j.progress.fraction}"></progress></td>
    <td data-key="final_loss">${number(s?.final_loss)}</td><td data-key="horizon">${number(horizonOf(s))}</td>
    <td data-key="solved">${s ? (s.solved ? "yes" : "no") : "–"}</td>
    <td>${new Date(j.created_at).toLocaleString()}</td></tr>`;
  });
  return html`<p class="controls"><button type="button" class="compare-picked">Compare selected</button>
    <span class="hint">tick two or more experiments</span></p>
    <table class="list experiments"><tr><th></th><th>id</th><th>name</th><th>cell</th><th>task</th><th>T</th><th>hidden</th>
    <th>clipping</th><th>status</th><th>progress</th><th>final loss</th><th>horizon</th><th>solved</th>
    <th>created</th></tr>${rows}</table>`;
}

export function sweepTable(sweeps) {
  if (!sweeps.length) return html`<p>None yet.</p>`;
  const rows = sweeps.map((s) => {
    const solved = s.experiments.filter((e) => e.summary?.solved).length;
    const ended = s.experiments.filter((e) => e.summary).length;
    return html`<tr class="clickable" data-sweep="${s.id}"><td><a href="#/sweeps/${s.id}">${s.id.slice(0, 8)}</a></td>
    <td>${Object.entries(s.grid).map(([k, v]) => `${k}: ${v.map((x) => JSON.stringify(x)).join(", ")}`).join("; ")}</td>
    <td>${s.seeds}</td><td>${s.size}</td>
    <td>${Object.entries(s.counts).map(([status, n]) => html`${badge(status)} ${n} `)}</td>
    <td data-key="solved">${ended ? `${solved} / ${ended}` : "–"}</td>
    <td>${new Date(s.created_at).toLocaleString()}</td></tr>`;
  });
  return html`<table class="list sweeps"><tr><th>id</th><th>grid</th><th>seeds</th><th>experiments</th>
    <th>outcome</th><th>solved</th><th>created</th></tr>${rows}</table>`;
}

// Rows open their experiment or sweep; ticks (not opening anything) gather the comparison.
export function wireLists(section) {
  const button = section.querySelector(".compare-picked");
  const refresh = () => {
    if (!button) return;
    button.disabled = selected.size < 2;
    button.textContent = `Compare selected (${selected.size})`;
  };
  section.addEventListener("click", (event) => {
    if (event.target.closest("a, input, button")) return;
    const row = event.target.closest("tr[data-id], tr[data-sweep]");
    if (row) location.hash = row.dataset.id ? `#/experiments/${row.dataset.id}` : `#/sweeps/${row.dataset.sweep}`;
  });
  section.addEventListener("change", (event) => {
    if (!event.target.matches(".pick")) return;
    if (event.target.checked) selected.add(event.target.value);
    else selected.delete(event.target.value);
    refresh();
  });
  button?.addEventListener("click", () => { location.hash = `#/compare/${[...selected].join(",")}`; });
  refresh();
}
