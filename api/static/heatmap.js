// A heatmap of log10 values with its colour bar (ticks at every decade) drawn in the same SVG,
// so that a saved chart keeps its scale; the cell under the cursor is read out.

import { extent, format, frame, logTicks, niceTicks, node } from "./axis.js";
import { exportButtons } from "./export.js";
import { hoverCells } from "./hover.js";

// Viridis, sampled: perceptually even, readable in grey.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function color(fraction) {
  const f = Math.min(Math.max(fraction, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(f), VIRIDIS.length - 2);
  const mix = VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * (f - i)));
  return `rgb(${mix.join(",")})`;
}

let gradients = 0; // ids of the colour bars' gradients, unique in the page
const BAR = { height: 10, below: 46 }; // the bar's height and its top under the plot

// The colour bar under the plot, spanning [low, high] (log10) across the plot's width.
function colorBar(chart, low, high) {
  const { svg, box, plotW, plotH } = chart;
  const id = `colorbar-${++gradients}`;
  const gradient = node("linearGradient", { id }, node("defs", {}, svg));
  for (const at of [0, 0.25, 0.5, 0.75, 1]) node("stop", { offset: at, "stop-color": color(at) }, gradient);
  const top = box.top + plotH + BAR.below;
  const bar = node("g", { class: "colorbar", "data-low": low, "data-high": high }, svg);
  node("rect", { x: box.left, y: top, width: plotW, height: BAR.height, fill: `url(#${id})` }, bar);
  const across = (v) => box.left + ((v - low) / (high - low || 1)) * plotW;
  const ticks = high > low ? logTicks(low, high) : [{ at: low, label: format(10 ** low) }];
  for (const t of ticks) {
    node("line", { x1: across(t.at), x2: across(t.at), y1: top + BAR.height, y2: top + BAR.height + 4,
      class: "colorbar-tick", "data-value": t.at, ...(t.decade !== undefined && { "data-decade": t.decade }) }, bar);
    node("text", { x: across(t.at), y: top + BAR.height + 15, class: "tick", "text-anchor": "middle" }, bar)
      .textContent = t.label;
  }
  node("text", { x: box.left - 6, y: top + BAR.height - 1, class: "tick", "text-anchor": "end" }, bar)
    .textContent = "|dL/dh_t|";
}

// A matrix of log10 values: rows (training steps) down, columns (time steps) across. Wide
// matrices are averaged into at most `maxColumns` bins so the SVG stays light.
export function heatmap(container, { title, rows, values, xLabel, yLabel, maxColumns = 200 }) {
  const columns = values[0].length;
  const bin = Math.ceil(columns / maxColumns);
  const binned = values.map((row) => {
    const out = [];
    for (let c = 0; c < columns; c += bin) {
      const part = row.slice(c, c + bin);
      out.push(part.reduce((a, b) => a + b, 0) / part.length);
    }
    return out;
  });
  const flat = binned.flat();
  const [low, high] = extent(flat);
  // Rows are probes, top down: every few is labelled with its training step at its middle.
  const every = Math.ceil(rows.length / 8);
  const yTicks = rows.flatMap((step, r) => (r % every ? [] : [[rows.length - r - 0.5, step]]));
  const chart = frame(container, { title, xLabel, yLabel, xRange: [0.5, columns + 0.5],
    yRange: [0, rows.length], height: Math.min(400, 166 + rows.length * 14), yTicks, bottom: 86,
    xTicks: niceTicks(1, columns, 8, true).map((t) => [t, format(t)]) });
  const cellW = (chart.plotW * bin) / columns;
  const cellH = chart.plotH / rows.length;
  const group = node("g", { class: "cells" });
  chart.svg.insertBefore(group, chart.svg.querySelector(".axes"));
  binned.forEach((row, r) => {
    row.forEach((value, c) => {
      node("rect", { x: chart.box.left + c * cellW, y: chart.box.top + r * cellH,
        width: cellW + 0.5, height: cellH + 0.5, fill: color((value - low) / (high - low || 1)),
        class: "cell", "data-step": rows[r], "data-t": c * bin + 1, "data-log10": value.toFixed(3) }, group);
    });
  });
  colorBar(chart, low, high);
  hoverCells(chart, (px, py) => {
    const r = Math.floor((py - chart.box.top) / cellH);
    const c = Math.floor((px - chart.box.left) / cellW);
    if (!(r >= 0 && r < rows.length && c >= 0 && c < binned[r].length)) return null;
    const t = c * bin + 1;
    const span = bin > 1 ? `t=${t}..${Math.min(t + bin - 1, columns)} (mean)` : `t=${t}`;
    return { text: `step ${rows[r]}, ${span}: log10 |dL/dh_t| = ${binned[r][c].toFixed(3)}`,
      data: { step: rows[r], t, log10: binned[r][c].toFixed(3) } };
  });
  exportButtons(container, chart.svg, title);
  container.dataset.drawn = flat.length;
}
