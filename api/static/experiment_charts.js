// An experiment's gradient-flow charts, redrawn in place as its traces grow. What the reader
// chose (the ticked probes, the step range, the smoothing, the loss axis) is kept across redraws.
// Once the run has ended, a step range is fetched from the server at full resolution.

import { lineChart, PALETTE, STEP_AXIS } from "./charts.js";
import { heatmap } from "./heatmap.js";
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
      <button type="button" class="all">all steps</button>
      <label>smoothing <input type="range" class="smoothing" min="0" max="0.99" step="0.01" value="0"></label>
      <output class="smoothing-value">off</output>
      <label class="inline"><input type="checkbox" class="log-loss"> log loss axis</label>
      <span class="hint">drag across a chart over training steps to zoom</span>
      <output class="error window-error"></output></div>
      <p class="divergence-note error hidden"></p>`;
    this.figures = {};
    for (const name of CHARTS) {
      const figure = document.createElement("figure");
      figure.className = `chart${name === "heatmap" ? " wide" : ""}`;
      figure.dataset.chart = name;
      this.figures[name] = grid.appendChild(figure);
    }
    this.note = grid.querySelector(".divergence-note");
    this.windowError = grid.querySelector(".window-error");
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
    this.inputs = { from: grid.querySelector(".from"), to: grid.querySelector(".to") };
    this.range = { from: null, to: null };
    const number = (input) => (input.value === "" ? null : Number(input.value));
    grid.querySelector(".range").addEventListener("change", (event) => {
      if (!event.target.matches(".from, .to")) return;
      this.zoom(number(this.inputs.from), number(this.inputs.to));
    });
    grid.querySelector(".all").addEventListener("click", () => this.zoom(null, null));
    const smoothing = grid.querySelector(".smoothing");
    this.smoothing = 0;
    smoothing.addEventListener("input", () => {
      this.smoothing = Number(smoothing.value);
      grid.querySelector(".smoothing-value").textContent = this.smoothing ? this.smoothing.toFixed(2) : "off";
      this.draw();
    });
    this.logLoss = false;
    grid.querySelector(".log-loss").addEventListener("change", (event) => {
      this.logLoss = event.target.checked;
      this.draw();
    });
    this.held = null;
    this.window = null; // the fetched step range, while one is chosen on an ended run
    this.summary = null;
    this.pending = false;
    // Set once the run has ended: ({from, to}) -> the stored result within that step range.
    this.fetchWindow = null;
  }

  // Shows training steps [from, to] (null: open ends); on an ended run, fetched at full resolution.
  async zoom(from, to) {
    this.inputs.from.value = from ?? "";
    this.inputs.to.value = to ?? "";
    const asked = { from, to };
    this.range = asked;
    this.window = null;
    this.windowError.textContent = "";
    if (this.fetchWindow && (from != null || to != null)) {
      try {
        const window = await this.fetchWindow(asked);
        if (this.range !== asked) return; // a later choice replaced this one meanwhile
        this.window = window;
      } catch (error) {
        // The thinned traces held still cover the range.
        this.windowError.textContent = `full resolution unavailable: ${error.message}`;
      }
    }
    this.draw();
  }

  // New traces (a result-shaped object) and, once known, the summary: drawn at the next frame,
  // so that a burst of events costs one redraw; `now` draws at once (after fetching the chosen
  // step range when the run has ended).
  async update(held, summary = null, now = false) {
    this.held = held;
    this.summary = summary;
    if (now) await this.zoom(this.range.from, this.range.to);
    else if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => this.draw());
    }
  }

  draw() {
    this.pending = false;
    if (!this.held) return;
    const shown = view(this.window ?? this.held, this.range, MAX_POINTS, this.entries);
    for (const figure of Object.values(this.figures)) {
      figure.replaceChildren();
      delete figure.dataset.drawn;
    }
    const diverged = this.summary?.diverged_at;
    this.note.classList.toggle("hidden", diverged == null);
    if (diverged != null) {
      const before = shown.loss?.step.length ? "the charts show the history before it" : "no step was recorded before it";
      this.note.textContent = `Diverged at training step ${diverged} (${this.summary.diverged_reason}); ${before}.`;
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
    lineChart(curves, { title: "|dL/dh_t| at the chosen probes", xLabel: "time step t", hoverName: "t",
      yLabel: "|dL/dh_t|", logY: true, integerX: true,
      series: picked.map((i, k) => ({ name: `step ${hidden.step[i]}`, x: t, y: hidden.norm[i][LAYER],
        color: PALETTE[k % PALETTE.length] })) });
  }

  drawSteps({ loss, grad_norm: grad, weight_change: change }) {
    // The baseline, the metric's name and any divergence come with the summary, at the end.
    const metric = this.summary?.metric_name ?? "metric";
    const baseline = this.summary ? [{ y: this.summary.baseline_loss, name: "memoryless baseline" }] : [];
    const at = this.summary?.diverged_at;
    const diverged = at != null ? [{ x: at, name: `diverged at step ${at}`, kind: "divergence" }] : [];
    const common = { ...STEP_AXIS, smoothing: this.smoothing, onZoom: ([from, to]) =>
      this.zoom(Math.max(0, Math.floor(from)), Math.ceil(to)) };
    lineChart(this.figures.loss, { ...common, title: "training loss against the task baseline",
      yLabel: "loss", logY: this.logLoss, series: [{ name: "loss", x: loss.step, y: loss.loss }],
      hlines: baseline, markers: diverged });
    lineChart(this.figures.metric, { ...common, title: `${metric} on the training batch`, yLabel: metric,
      series: [{ name: metric, x: loss.step, y: loss.metric, color: PALETTE[2] }], markers: diverged });
    lineChart(this.figures["grad-norm"], { ...common, title: "gradient norm before and after clipping",
      yLabel: "‖g‖", logY: true,
      series: [{ name: "before clipping", x: grad.step, y: grad.total },
        { name: "after clipping", x: grad.step, y: grad.clipped_total, dash: true }],
      markers: [...grad.step.filter((_, i) => grad.clipped[i]).map((x) => ({ x, name: "clipping fired" })),
        ...diverged] });
    lineChart(this.figures["weight-change"], { ...common, title: "mean |ΔW| per update, per weight",
      yLabel: "mean |ΔW|", logY: true,
      series: Object.entries(change.per_layer).map(([name, y]) => ({ name, x: change.step, y })) });
  }
}
