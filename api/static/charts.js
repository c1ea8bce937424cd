// Dependency-free SVG charts. Every drawn datum carries data-* attributes so that tests (and
// curious users in the inspector) can check what a chart holds, not only that it exists.

const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
  "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

function node(tag, attrs = {}, parent = null) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

// [min, max] of the values, by a loop: spreading tens of thousands of values into Math.min's
// arguments can exceed an engine's argument limit. [Infinity, -Infinity] when empty.
export function extent(values) {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return [low, high];
}

function niceTicks(low, high, count = 5) {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(t);
  return ticks;
}

function format(value) {
  if (value === 0) return "0";
  const size = Math.abs(value);
  if (size >= 1e4 || size < 1e-3) return value.toExponential(0);
  return String(Number(value.toPrecision(3)));
}

// The frame of a chart: an SVG with axes for the given ranges; returns scale functions. Numeric
// y ticks get grid lines; given yTicks ([value, label] pairs, e.g. a heatmap's rows) replace them.
function frame(container, { title, xLabel, yLabel, xRange, yRange, logY, xTicks, yTicks, height }) {
  const width = Math.max(container.clientWidth || 520, 320);
  const box = { left: 58, right: 14, top: 26, bottom: 40, width, height: height || 250 };
  const svg = node("svg", { width, height: box.height, viewBox: `0 0 ${width} ${box.height}`,
    role: "img", "aria-label": title });
  container.appendChild(svg);
  const plotW = width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const [x0, x1] = xRange[0] === xRange[1] ? [xRange[0] - 0.5, xRange[1] + 0.5] : xRange;
  const [y0, y1] = yRange[0] === yRange[1] ? [yRange[0] - 0.5, yRange[1] + 0.5] : yRange;
  const x = (v) => box.left + ((v - x0) / (x1 - x0)) * plotW;
  const y = (v) => box.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  node("text", { x: box.left, y: 16, class: "chart-title" }, svg).textContent = title;
  const axes = node("g", { class: "axes" }, svg);
  // Log axes get ticks at whole powers of ten when the range spans at least two of them.
  const powers = niceTicks(y0, y1).map((t) => Math.round(t * 1e9) / 1e9).filter(Number.isInteger);
  const numeric = logY && powers.length >= 2 ? powers : niceTicks(y0, y1);
  for (const t of yTicks ? [] : numeric) {
    node("line", { x1: box.left, x2: box.left + plotW, y1: y(t), y2: y(t), class: "grid" }, axes);
  }
  const yLabels = yTicks || numeric.map((t) => [t, logY ? (Number.isInteger(t) ? `1e${t}` : format(10 ** t)) : format(t)]);
  for (const [t, text] of yLabels) {
    const label = node("text", { x: box.left - 6, y: y(t) + 4, class: "tick", "text-anchor": "end" }, axes);
    label.textContent = text;
  }
  for (const [t, text] of xTicks || niceTicks(x0, x1, 6).map((t) => [t, format(t)])) {
    const label = node("text", { x: x(t), y: box.top + plotH + 16, class: "tick", "text-anchor": "middle" }, axes);
    label.textContent = text;
  }
  node("rect", { x: box.left, y: box.top, width: plotW, height: plotH, class: "plot-border" }, axes);
  node("text", { x: box.left + plotW / 2, y: box.height - 6, class: "axis-label", "text-anchor": "middle" }, axes)
    .textContent = xLabel || "";
  const yText = node("text", { x: 12, y: box.top + plotH / 2, class: "axis-label", "text-anchor": "middle",
    transform: `rotate(-90 12 ${box.top + plotH / 2})` }, axes);
  yText.textContent = yLabel || "";
  return { svg, x, y, box, plotW, plotH };
}

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

// Lines over x. series: [{name, x, y, color?, dash?, band?: {lo, hi}, onClick?(i)}];
// hlines: [{y, name}] (e.g. a baseline); markers: [{x, name}] (e.g. clip events); yRange:
// [low, high] in data units to draw instead of the data's own (e.g. one range for many charts).
export function lineChart(container, opts) {
  const { series, hlines = [], markers = [], logY = false } = opts;
  const ty = (v) => (logY ? Math.log10(Math.max(v, 1e-45)) : v);
  const ok = (v) => v !== null && Number.isFinite(v) && (!logY || v > 0);
  const [xLow, xHigh] = extent(series.flatMap((s) => s.x));
  const ys = opts.yRange || series.flatMap((s) => [...s.y, ...(s.band ? [...s.band.lo, ...s.band.hi] : [])])
    .concat(hlines.map((h) => h.y));
  const [yLow, yHigh] = extent(ys.filter(ok).map(ty));
  // Categorical axes (xTicks given) leave half a step of room at either end.
  const pad = opts.xTicks ? 0.5 : 0;
  const chart = frame(container, { ...opts, xRange: [xLow - pad, xHigh + pad],
    yRange: yLow <= yHigh ? [yLow, yHigh] : [0, 1] });
  const { svg, x, y } = chart;
  const entries = [];
  series.forEach((s, index) => {
    const color = s.color || PALETTE[index % PALETTE.length];
    entries.push({ name: s.name, color, dash: s.dash });
    const group = node("g", { class: "series", "data-series": s.name }, svg);
    if (s.band) {
      const upper = s.x.map((v, i) => [x(v), y(ty(s.band.hi[i]))]);
      const lower = s.x.map((v, i) => [x(v), y(ty(s.band.lo[i]))]).reverse();
      node("path", { d: "M" + [...upper, ...lower].map((p) => p.join(",")).join("L") + "Z",
        fill: color, opacity: 0.15, class: "band" }, group);
    }
    const points = s.x.map((v, i) => [v, s.y[i]]).filter(([, v]) => ok(v));
    const d = points.map(([a, b], i) => `${i ? "L" : "M"}${x(a).toFixed(1)},${y(ty(b)).toFixed(1)}`).join("");
    const path = node("path", { d, stroke: color, fill: "none", "stroke-width": 1.6, class: "line",
      "data-points": points.length, "stroke-dasharray": s.dash ? "5,4" : "none" }, group);
    node("title", {}, path).textContent = s.name;
    if (s.onClick || points.length <= 40) {
      s.x.forEach((v, i) => {
        if (!ok(s.y[i])) return;
        const dot = node("circle", { cx: x(v), cy: y(ty(s.y[i])), r: s.onClick ? 4 : 2.5, fill: color,
          class: s.onClick ? "point clickable" : "point", "data-x": v, "data-y": s.y[i] }, group);
        node("title", {}, dot).textContent = `${s.name}: ${format(s.y[i])}`;
        if (s.onClick) dot.addEventListener("click", () => s.onClick(i));
      });
    }
  });
  for (const h of hlines) {
    node("line", { x1: chart.box.left, x2: chart.box.left + chart.plotW, y1: y(ty(h.y)), y2: y(ty(h.y)),
      class: "hline", "data-y": h.y }, svg);
    entries.push({ name: h.name, color: "#555", dash: true });
  }
  for (const m of markers) {
    node("line", { x1: x(m.x), x2: x(m.x), y1: chart.box.top, y2: chart.box.top + chart.plotH,
      class: "marker", "data-x": m.x }, svg);
  }
  if (markers.length) entries.push({ name: `${markers[0].name} (${markers.length})`, color: "#e8a33d" });
  legend(container, entries);
  container.dataset.drawn = series.reduce((n, s) => n + s.y.filter(ok).length, 0);
}

// Viridis, sampled: perceptually even, readable in grey.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function color(fraction) {
  const f = Math.min(Math.max(fraction, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(f), VIRIDIS.length - 2);
  const mix = VIRIDIS[i].map((c, k) => Math.round(c + (VIRIDIS[i + 1][k] - c) * (f - i)));
  return `rgb(${mix.join(",")})`;
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
    yRange: [0, rows.length], height: Math.min(360, 120 + rows.length * 14), yTicks,
    xTicks: niceTicks(1, columns, 8).map((t) => [t, format(t)]) });
  const cellW = (chart.plotW * bin) / columns;
  const cellH = chart.plotH / rows.length;
  const group = node("g", { class: "cells" });
  chart.svg.insertBefore(group, chart.svg.querySelector(".axes"));
  binned.forEach((row, r) => {
    row.forEach((value, c) => {
      const cell = node("rect", { x: chart.box.left + c * cellW, y: chart.box.top + r * cellH,
        width: cellW + 0.5, height: cellH + 0.5, fill: color((value - low) / (high - low || 1)),
        class: "cell", "data-step": rows[r], "data-t": c * bin + 1, "data-log10": value.toFixed(3) }, group);
      node("title", {}, cell).textContent = `step ${rows[r]}, t=${c * bin + 1}: 1e${value.toFixed(2)}`;
    });
  });
  const scale = document.createElement("div");
  scale.className = "colorbar";
  const gradient = document.createElement("i");
  gradient.style.background = `linear-gradient(90deg,${[0, 0.25, 0.5, 0.75, 1].map(color).join(",")})`;
  const label = (value) => Object.assign(document.createElement("span"), { textContent: `1e${value.toFixed(1)}` });
  scale.append(label(low), gradient, label(high));
  container.appendChild(scale);
  container.dataset.drawn = flat.length;
}
