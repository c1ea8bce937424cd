// Hover read-outs (the values under the cursor, written in the chart) and drag-to-zoom on a
// chart's x range. Both listen on the whole SVG, so that clickable points stay clickable, and
// act only within the plot.

import { node } from "./axis.js";

// The read-out's number: four significant digits, enough to tell curves apart.
const readout = (value) => (value == null ? "–" : String(Number(value.toPrecision(4))));

function pointer(svg, event) {
  const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
  return { x: point.x, y: point.y };
}

function inPlot({ box, plotW, plotH }, { x, y }) {
  return x >= box.left && x <= box.left + plotW && y >= box.top && y <= box.top + plotH;
}

// Index of the entry of sorted `xs` nearest to `at`.
function nearest(xs, at) {
  let low = 0;
  let high = xs.length - 1;
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (xs[mid] < at) low = mid;
    else high = mid;
  }
  return Math.abs(xs[low] - at) <= Math.abs(xs[high] - at) ? low : high;
}

// A box in the plot's top right corner holding one line per entry: [{text, color?, data?}].
function makeBox(chart) {
  const { svg, box, plotW, plotH } = chart;
  const layer = node("g", { class: "hover", display: "none" }, svg);
  const rule = node("line", { class: "hover-rule", y1: box.top, y2: box.top + plotH }, layer);
  const text = node("text", { class: "readout", x: box.left + plotW - 6, y: box.top + 14, "text-anchor": "end" }, layer);
  const show = (lines, ruleX) => {
    text.replaceChildren();
    lines.forEach((line, i) => {
      const span = node("tspan", { x: box.left + plotW - 6, dy: i ? 14 : 0, fill: line.color || "currentColor" }, text);
      for (const [key, value] of Object.entries(line.data || {})) span.dataset[key] = value;
      span.textContent = line.text;
    });
    rule.setAttribute("visibility", ruleX == null ? "hidden" : "visible");
    if (ruleX != null) ["x1", "x2"].forEach((end) => rule.setAttribute(end, ruleX));
    layer.setAttribute("display", "inline");
  };
  const hide = () => layer.setAttribute("display", "none");
  svg.addEventListener("mouseleave", hide);
  return { show, hide };
}

// Line charts: at the x nearest the cursor, each series' value there. series: [{name, color,
// x, y}] in data units, x sorted; xName names the x axis in the read-out.
export function hoverLines(chart, series, xName) {
  const drawn = series.filter((s) => s.x.length);
  if (!drawn.length) return null;
  const { show, hide } = makeBox(chart);
  chart.svg.addEventListener("mousemove", (event) => {
    const where = pointer(chart.svg, event);
    if (!inPlot(chart, where)) return hide();
    const at = chart.invertX(where.x);
    const picks = drawn.map((s) => ({ s, i: nearest(s.x, at) }));
    const best = picks.reduce((a, b) => (Math.abs(b.s.x[b.i] - at) < Math.abs(a.s.x[a.i] - at) ? b : a));
    const x = best.s.x[best.i];
    const lines = [{ text: `${xName} ${readout(x)}` }];
    for (const { s, i } of picks) {
      const where = s.x[i] === x ? "" : ` (at ${readout(s.x[i])})`;
      lines.push({ text: `${s.name}: ${readout(s.y[i])}${where}`, color: s.color,
        data: { series: s.name, x: s.x[i], y: s.y[i] ?? "" } });
    }
    show(lines, chart.x(x));
  });
}

// Heatmaps: the cell under the cursor. cellAt(px, py) -> {text, data} or null.
export function hoverCells(chart, cellAt) {
  const { show, hide } = makeBox(chart);
  chart.svg.addEventListener("mousemove", (event) => {
    const where = pointer(chart.svg, event);
    const cell = inPlot(chart, where) && cellAt(where.x, where.y);
    if (cell) show([{ text: cell.text, data: cell.data }], null);
    else hide();
  });
}

// Dragging across the plot selects an x range: onZoom([low, high]) in data units.
export function dragZoom(chart, onZoom) {
  const { svg, box, plotH } = chart;
  let start = null;
  const shade = node("rect", { class: "zoom-box", y: box.top, height: plotH, width: 0, visibility: "hidden" }, svg);
  svg.addEventListener("mousedown", (event) => {
    const where = pointer(svg, event);
    if (!inPlot(chart, where)) return;
    start = where.x;
    event.preventDefault();
  });
  svg.addEventListener("mousemove", (event) => {
    if (start === null) return;
    const now = pointer(svg, event).x;
    Object.entries({ x: Math.min(start, now), width: Math.abs(now - start), visibility: "visible" })
      .forEach(([key, value]) => shade.setAttribute(key, value));
  });
  const finish = (event) => {
    if (start === null) return;
    const end = pointer(svg, event).x;
    const from = start;
    start = null;
    shade.setAttribute("visibility", "hidden");
    if (Math.abs(end - from) >= 4) onZoom([chart.invertX(Math.min(from, end)), chart.invertX(Math.max(from, end))]);
  };
  svg.addEventListener("mouseup", finish);
  svg.addEventListener("mouseleave", finish);
}
