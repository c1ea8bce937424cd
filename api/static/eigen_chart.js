// The eigenvalues of a layer's recurrence in the complex plane, against the unit circle, at one
// chosen probe: why a gradient survives (on the circle) or fades (inside it). Reads
// result.dynamics.eigenvalues[i][l][k] = [re, im]; draws nothing when the run did not record
// them (spec probes.eigenvalues off). Every point carries data-re / data-im for tests.

import { html } from "./html.js";

const SVG = "http://www.w3.org/2000/svg";
const SIZE = 320;
const PAD = 28;

function node(tag, attrs, parent) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
  parent.appendChild(element);
  return element;
}

// The plane from -extent to +extent on both axes: at least the unit circle, and every point.
function plot(figure, spectrum, step, layer) {
  const radius = Math.max(1, ...spectrum.map(([re, im]) => Math.hypot(re, im)));
  const extent = radius * 1.1;
  const scale = (SIZE / 2 - PAD) / extent;
  const [cx, cy] = [SIZE / 2, SIZE / 2];
  const svg = node("svg", { viewBox: `0 0 ${SIZE} ${SIZE}`, class: "eigen-plane", "data-step": step,
    "data-layer": layer }, figure);
  node("line", { x1: PAD / 2, x2: SIZE - PAD / 2, y1: cy, y2: cy, stroke: "#bbb" }, svg);
  node("line", { x1: cx, x2: cx, y1: PAD / 2, y2: SIZE - PAD / 2, stroke: "#bbb" }, svg);
  node("circle", { cx, cy, r: scale, fill: "none", stroke: "#888", "stroke-dasharray": "4 3",
    class: "unit-circle" }, svg);
  for (const [re, im] of spectrum) {
    const point = node("circle", { cx: cx + re * scale, cy: cy - im * scale, r: 3, fill: "#1f77b4",
      "fill-opacity": 0.7, class: "point eigenvalue", "data-re": re, "data-im": im }, svg);
    node("title", {}, point).textContent = `${re.toPrecision(4)} ${im < 0 ? "-" : "+"} ${Math.abs(im).toPrecision(4)}i, |λ| = ${Math.hypot(re, im).toPrecision(4)}`;
  }
  const title = node("text", { x: PAD / 2, y: 14, class: "chart-title" }, svg);
  title.textContent = `eigenvalues, ${layer}, step ${step}: max |λ| ${radius.toPrecision(4)}`;
}

export class EigenChart {
  constructor(figure) {
    this.figure = figure;
    this.chosen = null; // the probe step the reader picked; null: the last probe
  }

  draw(result) {
    const dynamics = result?.dynamics;
    const spectra = dynamics?.eigenvalues;
    this.figure.hidden = !spectra?.length;
    this.figure.dataset.drawn = 0;
    if (!spectra?.length) return;
    const steps = dynamics.step;
    const index = Math.max(0, this.chosen == null ? steps.length - 1 : steps.indexOf(this.chosen));
    this.figure.innerHTML = html`<label>probe at step <select class="eigen-step">${steps.map(
      (s, i) => html`<option value="${s}" ${i === index ? "selected" : ""}>${s}</option>`)}</select></label>`;
    this.figure.querySelector(".eigen-step").onchange = (event) => {
      this.chosen = Number(event.target.value);
      this.draw(result);
    };
    plot(this.figure, spectra[index][0], steps[index], dynamics.layers[0]);
    this.figure.dataset.drawn = spectra[index][0].length;
  }
}
