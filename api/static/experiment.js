// One experiment: its gradient-flow charts, drawn as the traces arrive while it runs; once it
// ended, the stored result as a page opened then shows it.

import { api, download, follow, meta as readMeta } from "./api.js";
import { EigenChart } from "./eigen_chart.js";
import { ExperimentCharts, MAX_POINTS } from "./experiment_charts.js";
import { badge, html } from "./html.js";
import { appendSlice } from "./traces.js";

function header(job) {
  const s = job.spec;
  const clip = s.clipping.mode === "none" ? "no clipping" : `${s.clipping.mode} clipping`;
  return html`<h2>${s.cell} on ${s.task}, T = ${s.seq_len}, ${s.hidden_size} units × ${s.num_layers},
    ${clip}, ${s.optimizer.name} lr ${s.optimizer.lr}, seed ${s.seed}</h2>
    <p class="ident">experiment ${job.id}</p>`;
}

function progressLine(job) {
  const p = job.progress;
  const eta = p.eta_seconds != null ? `, about ${Math.ceil(p.eta_seconds)} s left` : "";
  const loss = p.loss != null ? `, loss ${p.loss.toPrecision(4)}` : "";
  return html`${badge(job.status)} <progress value="${p.fraction}"></progress>
    step ${p.step} / ${p.total}${loss}${eta}`;
}

function summaryCards(summary) {
  const horizon = summary.gradient_horizon.at(-1)?.[0];
  const cards = [
    ["final loss", summary.final_loss?.toPrecision(4)],
    ["task baseline loss", summary.baseline_loss.toPrecision(4)],
    [`eval ${summary.metric_name}`, summary.eval_metric?.toPrecision(4) ?? "–"],
    ["solved", summary.solved ? "yes" : "no"],
    ["gradient horizon (last probe)", horizon ?? "–"],
    ["outcome", summary.outcome + (summary.diverged_at != null ? ` at step ${summary.diverged_at}` : "")],
    ["steps / s", summary.steps_per_second.toFixed(1)],
  ];
  return html`${cards.map(([k, v]) => html`<div class="card"><b>${v}</b><span>${k}</span></div>`)}`;
}

export async function showExperiment(main, id, signal) {
  const [meta, first] = await Promise.all([readMeta(), api(`/v1/experiments/${id}`)]);
  let job = first;
  main.innerHTML = html`<section class="panel">${header(job)}<p class="progress-line">${progressLine(job)}</p>
    <p class="stream-error error"></p><p class="actions"></p></section><section class="cards"></section>
    <section class="charts"></section><figure class="chart eigen" data-chart="eigen" hidden></figure>`;
  const line = main.querySelector(".progress-line");
  const streamError = main.querySelector(".stream-error");
  const actions = main.querySelector(".actions");
  const charts = new ExperimentCharts(main.querySelector(".charts"), meta.result_entries);
  const eigen = new EigenChart(main.querySelector(".eigen"));
  if (!meta.final_statuses.includes(job.status)) {
    actions.innerHTML = html`<button class="cancel">Cancel</button>`;
    actions.querySelector(".cancel").onclick = () => api(`/v1/experiments/${id}/cancel`, { method: "POST" });
    const held = {};
    await follow(`/v1/experiments/${id}/events`, (event) => {
      streamError.textContent = "";
      if (event.name === "traces") {
        appendSlice(held, event.data, meta.result_entries);
        charts.update(held);
        eigen.draw(held);
      }
      if (event.name === "progress") job = { ...job, progress: event.data };
      if (event.name === "status") job = { ...job, status: event.data.status };
      line.innerHTML = progressLine(job);
    }, signal, (error) => {
      streamError.textContent = `live updates interrupted: ${error.message}`;
    });
    if (signal.aborted) return;
    job = await api(`/v1/experiments/${id}`);
    line.innerHTML = progressLine(job);
  }
  // A run that failed or was cancelled keeps the traces it stored; one that never ran has none.
  let result = null;
  try {
    result = await api(`/v1/experiments/${id}/results?max_points=${MAX_POINTS}`);
  } catch (error) {
    if (job.summary) throw error;
  }
  if (signal.aborted) return;
  if (job.summary) {
    actions.innerHTML = html`<button class="csv">Download CSV</button>`;
    actions.querySelector(".csv").onclick = () => download(`/v1/experiments/${id}/results.csv`, `${id}.csv`);
    main.querySelector(".cards").innerHTML = summaryCards(job.summary);
  } else {
    actions.innerHTML = html`<span class="error">${job.error || "ended without results"}</span>`;
  }
  // A chosen step range is fetched at full resolution from now on.
  if (result) {
    charts.fetchWindow = ({ from, to }) => {
      const range = `${from != null ? `&step_from=${from}` : ""}${to != null ? `&step_to=${to}` : ""}`;
      return api(`/v1/experiments/${id}/results?max_points=${MAX_POINTS}${range}`);
    };
  }
  // The stored result, thinned by the server as for any finished run, replaces what the stream
  // brought, so this page equals one opened after the end.
  await charts.update(result, job.summary, true);
  eigen.draw(result);
}
