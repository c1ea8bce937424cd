// A chart's frame: an SVG with its title, axes, ticks and scales. Log axes are drawn in log10
// units and carry a tick at every decade; a degenerate range (one point) is padded sensibly.

const SVG = "http://www.w3.org/2000/svg";

export function node(tag, attrs = {}, parent = null) {
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

// About `count` round ticks (steps of 1, 2 or 5 × 10^k) within [low, high]; `integer` keeps
// the step at least 1 (training steps, time steps).
export function niceTicks(low, high, count = 5, integer = false) {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  if (integer) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) {
    ticks.push(Math.round(t / step) * step);
  }
  return ticks;
}

export function format(value) {
  if (value === 0) return "0";
  const size = Math.abs(value);
  if (size >= 1e4 || size < 1e-3) return value.toExponential(0);
  return String(Number(value.toPrecision(3)));
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const power = (k) => `10${[...String(k)].map((c) => SUPERSCRIPT[c]).join("")}`;

// Ticks of a log10 range as {at (log10 units), label, decade?}: every whole power of ten (these
// carry `decade`) when the range holds two or more; otherwise 1, 2 and 5 (or every digit) times
// the powers, the decades among them.
export function logTicks(low, high) {
  const decades = [];
  for (let k = Math.ceil(low - 1e-9); k <= high + 1e-9; k++) decades.push(k);
  if (decades.length >= 2) return decades.map((k) => ({ at: k, label: power(k), decade: k }));
  for (const mantissas of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks = [];
    for (let k = Math.floor(low) - 1; k <= Math.ceil(high); k++) {
      for (const m of mantissas) {
        const at = k + Math.log10(m);
        if (at >= low - 1e-9 && at <= high + 1e-9) {
          ticks.push({ at, label: format(m * 10 ** k), ...(m === 1 && { decade: k }) });
        }
      }
    }
    if (ticks.length >= 3) return ticks;
  }
  // Less than a digit's step: round values, as on a linear axis.
  return niceTicks(10 ** low, 10 ** high).filter((v) => v > 0).map((v) => ({ at: Math.log10(v), label: format(v) }));
}

// A one-value range widened to show it in context: by a tenth of its size, by one unit when it
// is zero; `floor` (e.g. 0 for training steps) is not crossed when the value is at or above it.
function padDomain([low, high], floor = null) {
  if (high > low) return [low, high];
  const pad = Math.abs(low) / 10 || 1;
  const start = floor != null && low >= floor ? Math.max(floor, low - pad) : low - pad;
  return [start, high + pad];
}

// The frame for ranges in drawn units (log10 for logY); xTicks/yTicks ([value, label] pairs)
// replace the numeric ticks (e.g. categories, a heatmap's rows). Returns scales and the box.
export function frame(container, opts) {
  const { title, xLabel, yLabel, logY, xTicks, yTicks, height, bottom = 40, integerX } = opts;
  const width = Math.max(container.clientWidth || 520, 320);
  const box = { left: 62, right: 14, top: 26, bottom, width, height: height || 250 };
  const svg = node("svg", { xmlns: SVG, width, height: box.height, viewBox: `0 0 ${width} ${box.height}`,
    role: "img", "aria-label": title });
  container.appendChild(svg);
  const plotW = width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const [x0, x1] = padDomain(opts.xRange, opts.xFloor);
  const [y0, y1] = logY && !(opts.yRange[1] > opts.yRange[0])
    ? [opts.yRange[0] - 0.5, opts.yRange[1] + 0.5] : padDomain(opts.yRange);
  Object.assign(svg.dataset, { x0, x1, y0, y1, logY: Boolean(logY) });
  const x = (v) => box.left + ((v - x0) / (x1 - x0)) * plotW;
  const y = (v) => box.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const invertX = (px) => x0 + ((px - box.left) / plotW) * (x1 - x0);
  node("text", { x: box.left, y: 16, class: "chart-title" }, svg).textContent = title;
  const axes = node("g", { class: "axes" }, svg);
  const numeric = logY ? logTicks(y0, y1) : niceTicks(y0, y1).map((at) => ({ at, label: format(at) }));
  // Every tick gets its grid line; labels are thinned only where they would overlap.
  const every = Math.ceil(numeric.length / Math.max(2, Math.floor(plotH / 14)));
  numeric.forEach((t, i) => {
    if (yTicks) return;
    const attrs = { x1: box.left, x2: box.left + plotW, y1: y(t.at), y2: y(t.at), class: "grid ytick", "data-value": t.at };
    if (t.decade !== undefined) attrs["data-decade"] = t.decade;
    node("line", attrs, axes);
    if (i % every === 0) tickLabel(axes, box.left - 6, y(t.at) + 4, "end", t.label);
  });
  for (const [t, text] of yTicks || []) tickLabel(axes, box.left - 6, y(t) + 4, "end", text);
  const xs = xTicks || niceTicks(x0, x1, 6, integerX).map((t) => [t, format(t)]);
  for (const [t, text] of xs) tickLabel(axes, x(t), box.top + plotH + 16, "middle", text);
  node("rect", { x: box.left, y: box.top, width: plotW, height: plotH, class: "plot-border" }, axes);
  node("text", { x: box.left + plotW / 2, y: box.top + plotH + 34, class: "axis-label", "text-anchor": "middle" }, axes)
    .textContent = xLabel || "";
  const yText = node("text", { x: 12, y: box.top + plotH / 2, class: "axis-label", "text-anchor": "middle",
    transform: `rotate(-90 12 ${box.top + plotH / 2})` }, axes);
  yText.textContent = yLabel || "";
  return { svg, x, y, invertX, box, plotW, plotH };
}

function tickLabel(parent, x, y, anchor, text) {
  node("text", { x, y, class: "tick", "text-anchor": anchor }, parent).textContent = text;
}
