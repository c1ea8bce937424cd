// Dependency-free SVG line charts. Every drawn datum carries data-* attributes so that tests
// (and curious users in the inspector) can check what a chart holds, not only that it exists.
// Each chart reads out the values under the cursor and can be saved as SVG or PNG.

import { extent, format, frame, node } from "./axis.js";
import { exportButtons } from "./export.js";
import { dragZoom, hoverLines } from "./hover.js";

export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
  "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
// The options of every chart over training steps.
export const STEP_AXIS = { xLabel: "training step", hoverName: "step", integerX: true, xFloor: 0 };

function legend(container, entries) {
  const list = document.createElement("div");
  list.className = "legend";
  for (const { name, color, dash } of entries) {
    const item = document.createElement("span");
    const swatch = item.appendChild(document.createElement("i"));
    swatch.style.borderColor = color;
    swatch.style.borderStyle = dash ? "dashed" : "solid";
    item.append(name);
    list.appendChild(item);
  }
  container.appendChild(list);
}

// The exponential moving average TensorBoard draws: weight in [0, 1), debiased so that the
// first values are not pulled towards zero. Gaps (null, NaN) stay gaps and do not count.
function ema(values, weight) {
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v == null || !Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    count += 1;
    return last / (1 - weight ** count);
  });
}

// With smoothing, each series is drawn faint as measured and plainly as smoothed.
function smoothed(series, weight) {
  if (!(weight > 0)) return series;
  return series.flatMap((s) => [{ ...s, name: `${s.name} (raw)`, faint: true, onClick: null },
    { ...s, y: ema(s.y, weight), band: null, smooth: true }]);
}

// Lines over x. series: [{name, x, y, color?, dash?, band?: {lo, hi}, onClick?(i)}];
// hlines: [{y, name}] (e.g. a baseline); markers: [{x, name, kind?}] (e.g. clip events); yRange:
// [low, high] in data units to draw instead of the data's own (e.g. one range for many charts);
// smoothing: an EMA weight; onZoom([from, to]): dragging across the plot picks an x range.
export function lineChart(container, opts) {
  const { hlines = [], markers = [], logY = false } = opts;
  const series = smoothed(opts.series, opts.smoothing);
  const ty = (v) => (logY ? Math.log10(Math.max(v, 1e-45)) : v);
  const ok = (v) => v !== null && Number.isFinite(v) && (!logY || v > 0);
  const [xLow, xHigh] = extent(series.flatMap((s) => s.x).concat(markers.map((m) => m.x)));
  const ys = opts.yRange || series.flatMap((s) => [...s.y, ...(s.band ? [...s.band.lo, ...s.band.hi] : [])])
    .concat(hlines.map((h) => h.y));
  const [yLow, yHigh] = extent(ys.filter(ok).map(ty));
  // Categorical axes (xTicks given) leave half a step of room at either end.
  const pad = opts.xTicks ? 0.5 : 0;
  const chart = frame(container, { ...opts, xRange: xLow <= xHigh ? [xLow - pad, xHigh + pad] : [0, 1],
    yRange: yLow <= yHigh ? [yLow, yHigh] : [0, 1] });
  const { svg, x, y } = chart;
  const entries = [];
  const read = [];
  series.forEach((s, index) => {
    const color = s.color || PALETTE[index % PALETTE.length];
    if (!s.faint) entries.push({ name: s.name, color, dash: s.dash });
    const group = node("g", { class: s.faint ? "series faint" : "series", "data-series": s.name }, svg);
    if (s.band) {
      const upper = s.x.map((v, i) => [x(v), y(ty(s.band.hi[i]))]);
      const lower = s.x.map((v, i) => [x(v), y(ty(s.band.lo[i]))]).reverse();
      node("path", { d: "M" + [...upper, ...lower].map((p) => p.join(",")).join("L") + "Z",
        fill: color, opacity: 0.15, class: "band" }, group);
    }
    const kept = s.x.flatMap((v, i) => (ok(s.y[i]) ? [i] : []));
    read.push({ name: s.name, color, x: kept.map((i) => s.x[i]), y: kept.map((i) => s.y[i]) });
    const d = kept.map((i, k) => `${k ? "L" : "M"}${x(s.x[i]).toFixed(1)},${y(ty(s.y[i])).toFixed(1)}`).join("");
    const path = node("path", { d, stroke: color, fill: "none", "stroke-width": 1.6,
      class: s.smooth ? "line smooth" : s.faint ? "line raw" : "line", "data-points": kept.length,
      "stroke-dasharray": s.dash ? "5,4" : "none" }, group);
    node("title", {}, path).textContent = s.name;
    if (s.onClick || (kept.length <= 40 && !s.smooth)) {
      for (const i of kept) {
        const dot = node("circle", { cx: x(s.x[i]), cy: y(ty(s.y[i])), r: s.onClick ? 4 : 2.5, fill: color,
          class: s.onClick ? "point clickable" : "point", "data-x": s.x[i], "data-y": s.y[i] }, group);
        node("title", {}, dot).textContent = `${s.name}: ${format(s.y[i])}`;
        if (s.onClick) dot.addEventListener("click", () => s.onClick(i));
      }
    }
  });
  for (const h of hlines) {
    node("line", { x1: chart.box.left, x2: chart.box.left + chart.plotW, y1: y(ty(h.y)), y2: y(ty(h.y)),
      class: "hline", "data-y": h.y }, svg);
    entries.push({ name: h.name, color: "#555", dash: true });
  }
  const kinds = Map.groupBy(markers, (m) => m.kind || "marker");
  for (const [kind, group] of kinds) {
    for (const m of group) {
      node("line", { x1: x(m.x), x2: x(m.x), y1: chart.box.top, y2: chart.box.top + chart.plotH,
        class: kind, "data-x": m.x }, svg);
    }
    const name = group.length > 1 ? `${group[0].name} (${group.length})` : group[0].name;
    entries.push({ name, color: kind === "marker" ? "#e8a33d" : "#b42318" });
  }
  hoverLines(chart, read, opts.hoverName ?? opts.xLabel ?? "x");
  if (opts.onZoom) dragZoom(chart, opts.onZoom);
  legend(container, entries);
  exportButtons(container, svg, opts.title);
  container.dataset.drawn = opts.series.reduce((n, s) => n + s.y.filter(ok).length, 0);
  return chart;
}
