// One experiment: live progress while it runs, then its gradient-flow charts.

import { api, download, follow } from "./api.js";
import { badge, html } from "./app.js";
import { heatmap, lineChart, PALETTE } from "./charts.js";

// Traces are cut on the server to what a laptop screen can show; extremes are always kept.
const MAX_POINTS = 400;
const FINAL = ["succeeded", "failed", "cancelled", "diverged"];

function figure(parent, name, wide = false) {
  const element = document.createElement("figure");
  element.className = `chart${wide ? " wide" : ""}`;
  element.dataset.chart = name;
  parent.appendChild(element);
  return element;
}

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
  return `${badge(job.status)} <progress value="${p.fraction}"></progress>
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
  return cards.map(([k, v]) => html`<div class="card"><b>${v}</b><span>${k}</span></div>`).join("");
}

function drawCharts(grid, result) {
  const { loss, grad_norm: grad, hidden_grad: hidden, weight_change: change, summary } = result;
  const layer = 0;
  heatmap(figure(grid, "heatmap", true), {
    title: `log10 |dL/dh_t| of ${hidden.layers[layer]}: time step across, training step down`,
    rows: hidden.step, xLabel: "time step t", yLabel: "training step",
    values: hidden.norm.map((probe) => probe[layer].map((v) => Math.log10(Math.max(v, 1e-38)))),
  });

  const curves = figure(grid, "curves");
  const picker = document.createElement("div");
  picker.className = "probe-picker";
  const last = hidden.step.length - 1;
  const chosen = new Set([0, Math.floor(last / 2), last]);
  picker.innerHTML = "probes: " + hidden.step.map((step, i) =>
    `<label><input type="checkbox" value="${i}" ${chosen.has(i) ? "checked" : ""}>${step}</label>`).join("");
  const drawCurves = () => {
    curves.replaceChildren(picker);
    const picked = [...picker.querySelectorAll("input:checked")].map((c) => Number(c.value));
    const t = hidden.norm[0][layer].map((_, i) => i + 1);
    lineChart(curves, { title: "|dL/dh_t| at the chosen probes", xLabel: "time step t",
      yLabel: "|dL/dh_t|", logY: true,
      series: picked.map((i, k) => ({ name: `step ${hidden.step[i]}`, x: t, y: hidden.norm[i][layer],
        color: PALETTE[k % PALETTE.length] })) });
  };
  picker.addEventListener("change", drawCurves);
  drawCurves();

  lineChart(figure(grid, "loss"), { title: "training loss against the task baseline",
    xLabel: "training step", yLabel: "loss", series: [{ name: "loss", x: loss.step, y: loss.loss }],
    hlines: [{ y: summary.baseline_loss, name: "memoryless baseline" }] });
  lineChart(figure(grid, "metric"), { title: `${summary.metric_name} on the training batch`,
    xLabel: "training step", yLabel: summary.metric_name,
    series: [{ name: summary.metric_name, x: loss.step, y: loss.metric, color: PALETTE[2] }] });
  lineChart(figure(grid, "grad-norm"), { title: "gradient norm before and after clipping",
    xLabel: "training step", yLabel: "‖g‖", logY: true,
    series: [{ name: "before clipping", x: grad.step, y: grad.total },
      { name: "after clipping", x: grad.step, y: grad.clipped_total, dash: true }],
    markers: grad.step.filter((_, i) => grad.clipped[i]).map((x) => ({ x, name: "clipping fired" })) });
  lineChart(figure(grid, "weight-change"), { title: "mean |ΔW| per update, per weight",
    xLabel: "training step", yLabel: "mean |ΔW|", logY: true,
    series: Object.entries(change.per_layer).map(([name, y]) => ({ name, x: change.step, y })) });
}

export async function showExperiment(main, id, signal) {
  let job = await api(`/v1/experiments/${id}`);
  main.innerHTML = `<section class="panel">${header(job)}<p class="progress-line">${progressLine(job)}</p>
    <p class="actions"></p></section><section class="cards"></section><section class="charts"></section>`;
  const line = main.querySelector(".progress-line");
  const actions = main.querySelector(".actions");
  if (!FINAL.includes(job.status)) {
    actions.innerHTML = `<button class="cancel">Cancel</button>`;
    actions.querySelector(".cancel").onclick = () => api(`/v1/experiments/${id}/cancel`, { method: "POST" });
    await follow(`/v1/experiments/${id}/events`, (event) => {
      if (event.name === "progress") job = { ...job, status: "running", progress: event.data };
      if (event.name === "status") job = { ...job, status: event.data.status };
      line.innerHTML = progressLine(job);
    }, signal);
    if (signal.aborted) return;
    job = await api(`/v1/experiments/${id}`);
    line.innerHTML = progressLine(job);
  }
  if (!job.summary) {
    actions.innerHTML = html`<span class="error">${job.error || "ended without results"}</span>`;
    return;
  }
  actions.innerHTML = `<button class="csv">Download CSV</button>`;
  actions.querySelector(".csv").onclick = () => download(`/v1/experiments/${id}/results.csv`, `${id}.csv`);
  const result = await api(`/v1/experiments/${id}/results?max_points=${MAX_POINTS}`);
  main.querySelector(".cards").innerHTML = summaryCards(result.summary);
  drawCharts(main.querySelector(".charts"), result);
}
