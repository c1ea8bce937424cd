// One sweep: its progress, the comparison plots (seeds as mean and spread) and its experiments;
// every point, curve and row leads to the experiment behind it.

import { api, follow, meta as readMeta } from "./api.js";
import { extent } from "./axis.js";
import { lineChart, PALETTE } from "./charts.js";
import { badge, html } from "./html.js";
import { showVerdict } from "./verdict.js";

const open = (id) => { location.hash = `#/experiments/${id}`; };

function counts(sweep) {
  return html`${Object.entries(sweep.counts).map(([status, n]) => html`${badge(status)} ${n} `)}`;
}

function table(sweep) {
  const axes = Object.keys(sweep.grid);
  const head = [...axes, "seed", "status", "final loss", "eval metric", "horizon"];
  const value = (v) => (v == null ? "–" : Number.isInteger(v) ? v : typeof v === "number" ? v.toPrecision(4) : v);
  const label = (v) => (typeof v === "string" ? v : JSON.stringify(v));
  const rows = sweep.experiments.map((e) => html`<tr class="clickable" data-id="${e.id}">
    ${axes.map((a) => html`<td>${label(e.values[a])}</td>`)}<td>${e.seed}</td><td>${badge(e.status)}</td>
    <td>${value(e.summary?.final_loss)}</td><td>${value(e.summary?.eval_metric)}</td>
    <td>${value(e.summary?.horizon)}</td></tr>`);
  return html`<table class="list"><tr>${head.map((h) => html`<th>${h}</th>`)}</tr>${rows}</table>`;
}

async function drawScalar(figure, id, metric, x) {
  const data = await api(`/v1/sweeps/${id}/compare?metric=${metric}&x=${encodeURIComponent(x)}`);
  figure.replaceChildren();
  const positions = data.x_labels.map((_, i) => i);
  lineChart(figure, {
    title: `${metric} against ${x} (mean over seeds, band: min to max)`, xLabel: x, yLabel: metric,
    logY: metric.includes("loss") && data.series.every((s) => s.points.every((p) => p.min == null || p.min > 0)),
    xTicks: data.x_labels.map((label, i) => [i, label]),
    series: data.series.map((s, k) => ({
      name: s.label, x: positions, y: s.points.map((p) => p.mean), color: PALETTE[k % PALETTE.length],
      band: { lo: s.points.map((p) => p.min ?? p.mean), hi: s.points.map((p) => p.max ?? p.mean) },
      onClick: (i) => s.experiments[i].length && open(s.experiments[i][0]),
    })),
    hlines: data.baseline_loss != null ? [{ y: data.baseline_loss, name: "memoryless baseline" }] : [],
  });
}

// The scalar metric that tells the combinations apart best: the one whose combination means
// vary most against how much seeds vary within a combination (between- over within-combination
// variance); with one seed each, the one whose means spread most relative to their size. A
// metric on which every combination sits at the same value up to noise (a loss at the baseline)
// loses to one that changes with the grid (often the horizon).
function telling(sweep, metrics) {
  let best = { metric: metrics[0], score: -1 };
  for (const metric of metrics.filter((m) => m !== "baseline_loss")) {
    const ended = sweep.experiments.filter((e) => e.summary?.[metric] != null);
    const groups = [...Map.groupBy(ended, (e) => JSON.stringify(e.values)).values()]
      .map((g) => g.map((e) => e.summary[metric]));
    if (!groups.length) continue;
    const score = separation(groups);
    if (score > best.score) best = { metric, score };
  }
  return best.metric;
}

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const variance = (values) => mean(values.map((v) => (v - mean(values)) ** 2));

function separation(groups) {
  const means = groups.map(mean);
  const seeded = groups.filter((g) => g.length > 1);
  if (!seeded.length) {
    const [low, high] = extent(means);
    const size = Math.max(Math.abs(low), Math.abs(high));
    return size > 0 ? (high - low) / size : 0;
  }
  const between = variance(means);
  const within = mean(seeded.map(variance));
  if (between === 0) return 0;
  return within === 0 ? Infinity : between / within;
}

// Every combination's mean curve in one chart, by time step t or by distance from the end t - T.
function drawOverlay(figure, curves, byEnd) {
  figure.replaceChildren();
  lineChart(figure, { title: "|dL/dh_t| at the last probe, every combination (mean over seeds, log10)",
    xLabel: byEnd ? "distance from the end t − T" : "time step t", hoverName: byEnd ? "t − T" : "t",
    yLabel: "|dL/dh_t|", logY: true, integerX: true,
    series: curves.map((curve, k) => {
      const length = curve.mean_log10.length;
      return { name: curve.label, color: PALETTE[k % PALETTE.length],
        x: curve.mean_log10.map((_, i) => (byEnd ? i + 1 - length : i + 1)), y: curve.mean_log10.map((v) => 10 ** v) };
    }) });
}

async function drawCurves(main, id) {
  const data = await api(`/v1/sweeps/${id}/compare?metric=hidden_grad`);
  const overlay = main.querySelector('[data-chart="sweep-overlay"]');
  const byEnd = main.querySelector(".by-end");
  byEnd.onchange = () => drawOverlay(overlay, data.curves, byEnd.checked);
  drawOverlay(overlay, data.curves, byEnd.checked);
  const container = main.querySelector(".small-multiples");
  container.replaceChildren();
  // One y range for every small chart, so they compare side by side.
  const lows = data.curves.flatMap((c) => c.mean_log10.map((m, i) => m - c.std_log10[i]));
  const highs = data.curves.flatMap((c) => c.mean_log10.map((m, i) => m + c.std_log10[i]));
  const yRange = [extent(lows)[0], extent(highs)[1]].map((v) => 10 ** v);
  data.curves.forEach((curve, k) => {
    const figure = document.createElement("figure");
    figure.className = "chart small clickable";
    figure.dataset.chart = "sweep-curve";
    container.appendChild(figure);
    const t = curve.mean_log10.map((_, i) => i + 1);
    const pow = (values) => values.map((v) => 10 ** v);
    lineChart(figure, { title: `${curve.label} (n=${curve.n})`, xLabel: "time step t",
      yLabel: "|dL/dh_t|", logY: true, height: 200, yRange,
      series: [{ name: "mean over seeds (band ±1 sd, log10)", x: t, y: pow(curve.mean_log10),
        color: PALETTE[k % PALETTE.length],
        band: { lo: pow(curve.mean_log10.map((m, i) => m - curve.std_log10[i])),
          hi: pow(curve.mean_log10.map((m, i) => m + curve.std_log10[i])) } }] });
    figure.title = "open the first experiment of this combination";
    figure.addEventListener("click", () => open(curve.experiments[0]));
  });
}

export async function showSweep(main, id, signal) {
  const [meta, first] = await Promise.all([readMeta(), api(`/v1/sweeps/${id}`)]);
  let sweep = first;
  const axes = Object.keys(sweep.grid);
  const chosen = telling(sweep, meta.sweep_metrics);
  main.innerHTML = html`<section class="panel"><h2>Sweep over ${axes.join(", ")}, ${sweep.seeds} seed(s), ${sweep.size} experiments</h2>
    <p class="ident">sweep ${sweep.id}</p><p class="progress-line"></p><p class="stream-error error"></p>
    <p class="actions"></p></section>
    <section class="panel verdict" hidden></section>
    <section class="panel"><h2>Comparison</h2><div class="controls">
      <label>metric <select class="metric">${meta.sweep_metrics.map((m) =>
        html`<option ${m === chosen ? "selected" : ""}>${m}</option>`)}</select></label>
      <label>across <select class="axis">${axes.map((a) => html`<option>${a}</option>`)}</select></label>
    </div><div class="charts"><figure class="chart wide" data-chart="compare"></figure></div></section>
    <section class="panel"><h2>|dL/dh_t| at the last probe, per combination</h2>
      <div class="controls"><label class="inline"><input type="checkbox" class="by-end"> align at the end of the sequence (t − T)</label></div>
      <div class="charts"><figure class="chart wide" data-chart="sweep-overlay"></figure></div>
      <div class="charts small-multiples"></div></section>
    <section class="panel"><h2>Experiments</h2><div class="members"></div></section>`;
  const line = main.querySelector(".progress-line");
  const render = () => {
    const done = sweep.experiments.filter((e) => meta.final_statuses.includes(e.status)).length;
    line.innerHTML = html`<progress value="${done / sweep.size}"></progress> ${done} / ${sweep.size} done · ${counts(sweep)}`;
    main.querySelector(".members").innerHTML = table(sweep);
    if (sweep.reproduction) showVerdict(main.querySelector(".verdict"), sweep.reproduction);
  };
  main.querySelector(".members").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-id]");
    if (row) open(row.dataset.id);
  });
  const metric = main.querySelector(".metric");
  const axis = main.querySelector(".axis");
  const figure = main.querySelector('[data-chart="compare"]');
  const redraw = () => drawScalar(figure, id, metric.value, axis.value);
  metric.onchange = () => {
    metric.dataset.touched = "yes";
    redraw();
  };
  axis.onchange = redraw;
  render();
  if (sweep.status === "active") {
    const actions = main.querySelector(".actions");
    actions.innerHTML = html`<button class="cancel">Cancel the sweep</button>`;
    actions.querySelector(".cancel").onclick = () => api(`/v1/sweeps/${id}/cancel`, { method: "POST" });
    await redraw();
    await follow(`/v1/sweeps/${id}/events`, async (event) => {
      main.querySelector(".stream-error").textContent = "";
      if (event.name === "status" || event.name === "end") {
        sweep = await api(`/v1/sweeps/${id}`);
        render();
      }
    }, signal, (error) => {
      main.querySelector(".stream-error").textContent = `live updates interrupted: ${error.message}`;
    });
    if (signal.aborted) return;
  }
  // Ended: the metric that varies most across the finished runs, unless the reader chose one.
  if (!metric.dataset.touched) metric.value = telling(sweep, meta.sweep_metrics);
  await redraw();
  await drawCurves(main, id);
}
