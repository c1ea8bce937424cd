// The dashboard's shell: routes (#/, #/experiments/<id>, #/sweeps/<id>, #/compare/<id>,<id>...)
// and the home page with the submission form, built from GET /v1/meta so it always offers what
// the server accepts.

import { api, apiKey, meta as readMeta, setApiKey } from "./api.js";
import { showExperiment } from "./experiment.js";
import { showCompare } from "./compare.js";
import { html } from "./html.js";
import { experimentTable, summaries, sweepsInFull, sweepTable, wireLists } from "./lists.js";
import { showSweep } from "./sweep.js";

const main = document.querySelector("main");
let leaving = new AbortController();

// The spec fields the form offers: [dotted path, label, meta list of choices or null].
const FIELDS = [
  ["cell", "cell", "cells"], ["task", "task", "tasks"], ["seq_len", "sequence length"],
  ["hidden_size", "hidden size"], ["num_layers", "layers"], ["steps", "training steps"],
  ["batch_size", "batch size"], ["probe_every", "probe every"],
  ["init.recurrent", "recurrent init", "inits"], ["clipping.mode", "clipping", "clipping_modes"],
  ["clipping.max_norm", "max norm (norm clipping)"], ["optimizer.name", "optimizer", "optimizers"],
  ["optimizer.lr", "learning rate"], ["training.mode", "training", "training_modes"],
  ["training.tbptt_k", "tbptt k"], ["training.tbptt_k1", "tbptt k1"],
  ["training.tbptt_k2", "tbptt k2"], ["seed", "seed"],
];
const START = { cell: "tanh", task: "adding", seq_len: 50, hidden_size: 32, steps: 300,
  batch_size: 32, probe_every: 25 };

function schemaOf(schema, path) {
  let node = { $ref: null, properties: schema.properties };
  for (const name of path.split(".")) {
    let next = node.properties?.[name];
    if (!next) return {};
    const ref = next.$ref || next.allOf?.[0]?.$ref || next.anyOf?.find((a) => a.$ref)?.$ref;
    if (ref) next = { ...schema.$defs[ref.split("/").pop()], default: next.default };
    node = next;
  }
  if (node.discriminator || node.oneOf) return {};
  return node;
}

function specFromForm(form) {
  const spec = {};
  for (const input of form.querySelectorAll("[data-path]")) {
    if (input.value === "" || input.closest(".hidden")) continue;
    const path = input.dataset.path.split(".");
    let target = spec;
    for (const name of path.slice(0, -1)) target = target[name] ??= {};
    target[path.at(-1)] = input.type === "number" ? Number(input.value) : input.value;
  }
  if (spec.clipping?.mode !== "norm") delete spec.clipping?.max_norm;
  if (spec.training?.mode !== "tbptt") delete spec.training?.tbptt_k;
  if (spec.training?.mode !== "tbptt_k1k2") {
    delete spec.training?.tbptt_k1;
    delete spec.training?.tbptt_k2;
  }
  return spec;
}

function formField(meta, [path, label, choices]) {
  const field = schemaOf(meta.spec_schema, path);
  const value = START[path] ?? field.default ?? "";
  if (choices) {
    const options = meta[choices].map((c) => html`<option ${c === value ? "selected" : ""}>${c}</option>`);
    return html`<label>${label}<select data-path="${path}">${options}</select></label>`;
  }
  const step = field.type === "integer" ? 1 : "any";
  const low = field.minimum ?? field.exclusiveMinimum ?? "";
  // The server publishes the schema with its own limits as the maximums.
  const high = field.maximum ?? field.exclusiveMaximum ?? "";
  return html`<label>${label}<input type="number" data-path="${path}" value="${value}"
    step="${step}" min="${low}" max="${high}"></label>`;
}

async function showHome(signal) {
  const [meta, jobs, sweepPage] = await Promise.all([
    readMeta(), api("/v1/experiments?limit=15"), api("/v1/sweeps?limit=8"),
  ]);
  // The lists carry no outcomes: the ended runs' summaries and the sweeps' members hold them.
  const [outcomes, sweeps] = await Promise.all([summaries(jobs.items, meta.final_statuses),
    sweepsInFull(sweepPage.items)]);
  main.innerHTML = html`
    <section class="panel"><h2>New experiment</h2>
      <form id="spec-form"><div class="fields">${FIELDS.map((f) => formField(meta, f))}</div>
        <p class="task-note"></p>
        <details><summary>…or run it as a sweep</summary>
          <label>grid (dotted spec path → values)<textarea id="grid" rows="3">${'{"cell": ["tanh", "lstm"], "seq_len": [20, 50]}'}</textarea></label>
          <label>seeds <input id="seeds" type="number" value="2" min="1" max="100"></label>
          <button type="button" id="submit-sweep">Submit sweep</button>
        </details>
        <button type="submit">Submit experiment</button> <output class="error"></output>
      </form></section>
    <section class="panel lists"><h2>Experiments</h2>${experimentTable(jobs.items, outcomes)}</section>
    <section class="panel lists"><h2>Sweeps</h2>${sweepTable(sweeps)}</section>`;
  main.querySelectorAll(".lists").forEach(wireLists);
  const form = main.querySelector("#spec-form");
  const error = form.querySelector(".error");
  const refresh = () => {
    const clip = form.querySelector('[data-path="clipping.mode"]').value;
    const training = form.querySelector('[data-path="training.mode"]').value;
    form.querySelector('[data-path="clipping.max_norm"]').parentElement.classList.toggle("hidden", clip !== "norm");
    form.querySelector('[data-path="training.tbptt_k"]').parentElement.classList.toggle("hidden", training !== "tbptt");
    for (const k of ["tbptt_k1", "tbptt_k2"]) {
      form.querySelector(`[data-path="training.${k}"]`).parentElement.classList.toggle("hidden", training !== "tbptt_k1k2");
    }
    const task = meta.task_details?.[form.querySelector('[data-path="task"]').value];
    form.querySelector(".task-note").textContent = task?.description || "";
  };
  form.addEventListener("change", refresh);
  refresh();
  const submit = async (path, body, route) => {
    error.textContent = "";
    try {
      location.hash = `${route}${(await api(path, { method: "POST", body })).id}`;
    } catch (e) {
      error.textContent = e.message;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit("/v1/experiments", specFromForm(form), "#/experiments/");
  });
  form.querySelector("#submit-sweep").addEventListener("click", () => {
    let grid;
    try { grid = JSON.parse(form.querySelector("#grid").value); } catch (e) {
      error.textContent = `grid: not JSON (${e.message})`;
      return;
    }
    const body = { base: specFromForm(form), grid, seeds: Number(form.querySelector("#seeds").value) };
    submit("/v1/sweeps", body, "#/sweeps/");
  });
  if (jobs.items.some((j) => !meta.final_statuses.includes(j.status))) {
    setTimeout(() => !signal.aborted && route(), 3000);
  }
}

async function route() {
  leaving.abort();
  leaving = new AbortController();
  const signal = leaving.signal;
  const [, kind, id] = location.hash.match(/^#\/(experiments|sweeps|compare)\/([\w,]+)/) || [];
  document.body.dataset.page = kind || "home";
  try {
    if (kind === "experiments") await showExperiment(main, id, signal);
    else if (kind === "sweeps") await showSweep(main, id, signal);
    else if (kind === "compare") await showCompare(main, id.split(","), signal);
    else await showHome(signal);
    if (!signal.aborted) document.body.dataset.ready = kind || "home";
  } catch (error) {
    main.innerHTML = html`<section class="panel error"><h2>Could not load this page</h2><pre>${error.message}</pre></section>`;
  }
}

const keyInput = document.querySelector("#api-key");
keyInput.value = apiKey();
keyInput.addEventListener("change", () => { setApiKey(keyInput.value.trim()); route(); });
window.addEventListener("hashchange", route);
route();
