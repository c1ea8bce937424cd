// An experiment's gradient-flow charts, redrawn in place as its traces grow. What the reader
// chose (the ticked probes, the step range) is kept across redraws.

import { heatmap, lineChart, PALETTE } from "./charts.js";
import { html } from "./html.js";
import { view } from "./traces.js";

// Traces are cut to what a laptop screen can show; extremes are always kept.
export const MAX_POINTS = 400;
const CHARTS = ["heatmap", "curves", "loss", "metric", "grad-norm", "weight-change"];
const LAYER = 0;

export class ExperimentCharts {
  // `entries`: GET /v1/meta's result_entries, how the result's parts grow.
  constructor(grid, entries) {
    this.entries = entries;
    grid.innerHTML = html`<div class="controls range"><label>training steps from
      <input type="number" class="from" min="0" placeholder="first"></label>
      <label>to <input type="number" class="to" min="0" placeholder="last"></label>
      <button type="button" class="all">all steps</button></div>`;
    this.figures = {};
    for (const name of CHARTS) {
      const figure = document.createElement("figure");
      figure.className = `chart${name === "heatmap" ? " wide" : ""}`;
      figure.dataset.chart = name;
      this.figures[name] = grid.appendChild(figure);
    }
    this.picker = document.createElement("div");
    this.picker.className = "probe-picker";
    // Steps of the probes the reader ticked; null until they tick one: the first, the middle
    // and the last probe, following new probes as they come.
    this.chosen = null;
    this.picker.addEventListener("change", () => {
      const ticked = this.picker.querySelectorAll("input:checked");
      this.chosen = new Set([...ticked].map((box) => Number(box.value)));
      this.draw();
    });
    const [from, to] = [grid.querySelector(".from"), grid.querySelector(".to")];
    this.range = { from: null, to: null };
    const number = (input) => (input.value === "" ? null : Number(input.value));
    grid.querySelector(".range").addEventListener("change", () => {
      this.range = { from: number(from), to: number(to) };
      this.draw();
    });
    grid.querySelector(".all").addEventListener("click", () => {
      from.value = to.value = "";
      this.range = { from: null, to: null };
      this.draw();
    });
    this.held = null;
    this.summary = null;
    this.pending = false;
  }

  // New traces (a result-shaped object) and, once known, the summary: drawn at the next frame,
  // so that a burst of events costs one redraw; `now` draws at once.
  update(held, summary = null, now = false) {
    this.held = held;
    this.summary = summary;
    if (now) this.draw();
    else if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => this.draw());
    }
  }

  draw() {
    this.pending = false;
    if (!this.held) return;
    const shown = view(this.held, this.range, MAX_POINTS, this.entries);
    for (const figure of Object.values(this.figures)) {
      figure.replaceChildren();
      delete figure.dataset.drawn;
    }
    const hidden = shown.hidden_grad;
    if (hidden?.step.length) {
      this.drawHeatmap(hidden);
      this.drawCurves(hidden);
    }
    if (shown.loss?.step.length) this.drawSteps(shown);
  }

  drawHeatmap(hidden) {
    const { from, to } = this.range;
    const rows = hidden.step.flatMap((step, i) =>
      (from == null || step >= from) && (to == null || step <= to) ? [i] : []);
    if (!rows.length) return;
    heatmap(this.figures.heatmap, {
      title: `log10 |dL/dh_t| of ${hidden.layers[LAYER]}: time step across, training step down`,
      rows: rows.map((i) => hidden.step[i]), xLabel: "time step t", yLabel: "training step",
      values: rows.map((i) => hidden.norm[i][LAYER].map((v) => Math.log10(Math.max(v, 1e-38)))),
    });
  }

  drawCurves(hidden) {
    const last = hidden.step.length - 1;
    const defaults = new Set([0, Math.floor(last / 2), last].map((i) => hidden.step[i]));
    const chosen = this.chosen ?? defaults;
    this.picker.innerHTML = html`probes: ${hidden.step.map((step) =>
      html`<label><input type="checkbox" value="${step}" ${chosen.has(step) ? "checked" : ""}>${step}</label>`)}`;
    const picked = hidden.step.flatMap((step, i) => (chosen.has(step) ? [i] : []));
    const t = hidden.norm[0][LAYER].map((_, i) => i + 1);
    const curves = this.figures.curves;
    curves.appendChild(this.picker);
    if (!picked.length) return;
    lineChart(curves, { title: "|dL/dh_t| at the chosen probes", xLabel: "time step t",
      yLabel: "|dL/dh_t|", logY: true,
      series: picked.map((i, k) => ({ name: `step ${hidden.step[i]}`, x: t, y: hidden.norm[i][LAYER],
        color: PALETTE[k % PALETTE.length] })) });
  }

  drawSteps({ loss, grad_norm: grad, weight_change: change }) {
    // The baseline and the metric's name come with the summary, at the end.
    const metric = this.summary?.metric_name ?? "metric";
    const baseline = this.summary ? [{ y: this.summary.baseline_loss, name: "memoryless baseline" }] : [];
    lineChart(this.figures.loss, { title: "training loss against the task baseline",
      xLabel: "training step", yLabel: "loss", series: [{ name: "loss", x: loss.step, y: loss.loss }],
      hlines: baseline });
    lineChart(this.figures.metric, { title: `${metric} on the training batch`,
      xLabel: "training step", yLabel: metric,
      series: [{ name: metric, x: loss.step, y: loss.metric, color: PALETTE[2] }] });
    lineChart(this.figures["grad-norm"], { title: "gradient norm before and after clipping",
      xLabel: "training step", yLabel: "‖g‖", logY: true,
      series: [{ name: "before clipping", x: grad.step, y: grad.total },
        { name: "after clipping", x: grad.step, y: grad.clipped_total, dash: true }],
      markers: grad.step.filter((_, i) => grad.clipped[i]).map((x) => ({ x, name: "clipping fired" })) });
    lineChart(this.figures["weight-change"], { title: "mean |ΔW| per update, per weight",
      xLabel: "training step", yLabel: "mean |ΔW|", logY: true,
      series: Object.entries(change.per_layer).map(([name, y]) => ({ name, x: change.step, y })) });
  }
}
