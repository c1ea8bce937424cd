// A reader's gestures on a chart (figure[data-chart=NAME]) and what the chart shows back.

const figure = (name) => `figure[data-chart="${name}"]`;

// The plot's box in the viewport (the axes frame's border rectangle), scrolled into view so
// that the pointer can reach it.
async function plotBox(page, name) {
  await page.locator(figure(name)).scrollIntoViewIfNeeded();
  return page.$eval(`${figure(name)} svg .plot-border`, (rect) => {
    const { x, y, width, height } = rect.getBoundingClientRect();
    return { x, y, width, height };
  });
}

// The y axis: its range in drawn units and the decades that got a tick.
export function axes(page, name) {
  return page.$eval(`${figure(name)} svg`, (svg) => ({
    y0: Number(svg.dataset.y0), y1: Number(svg.dataset.y1), logY: svg.dataset.logY === "true",
    decades: [...svg.querySelectorAll("line.ytick[data-decade]")].map((line) => Number(line.dataset.decade)),
  }));
}

// The read-out with the pointer at 40% across and the middle of the plot: its lines' text and data.
export async function hover(page, name) {
  const box = await plotBox(page, name);
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.5);
  return page.$$eval(`${figure(name)} .readout tspan`, (spans) =>
    spans.map((span) => ({ text: span.textContent, ...span.dataset })));
}

// The chart saved: the SVG's text and the PNG's data URL, made as the buttons make them.
export function exported(page, name) {
  return page.evaluate(async (selector) => {
    const { svgText, pngDataUrl } = await import("/static/export.js");
    const svg = document.querySelector(`${selector} svg`);
    return { svg: svgText(svg), png: await pngDataUrl(svg), width: svg.viewBox.baseVal.width,
      height: svg.viewBox.baseVal.height, lines: svg.querySelectorAll("path.line").length };
  }, figure(name));
}

// Dragging from 30% to 70% across the plot: the results request it made, and how many points
// the chart then drew over which step range.
export async function zoom(page, name) {
  const box = await plotBox(page, name);
  const asked = page.waitForRequest((request) => request.url().includes("step_from="));
  const middle = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.3, middle);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, middle, { steps: 5 });
  await page.mouse.up();
  const url = (await asked).url();
  // Redrawn from the window: the chart's step axis starts at the range's first step.
  await page.waitForFunction((selector) => {
    const svg = document.querySelector(`${selector} svg`);
    return svg && Number(svg.dataset.x0) >= Number(document.querySelector(".range .from").value);
  }, figure(name));
  const drawn = await page.$eval(`${figure(name)}`, (f) => ({ count: Number(f.dataset.drawn),
    domain: [Number(f.querySelector("svg").dataset.x0), Number(f.querySelector("svg").dataset.x1)] }));
  const inputs = await page.$eval(".range", (r) => [r.querySelector(".from").value, r.querySelector(".to").value]);
  await page.click(".range .all"); // back to every step, as the page opened
  return { url, drawn, inputs };
}

// The read-out with the smoothing slider at `weight`; the slider is set back to off after.
export async function smoothed(page, name, weight) {
  const slide = (value) => page.$eval(".smoothing", (input, v) => {
    input.value = String(v);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
  await slide(weight);
  const lines = await hover(page, name);
  await slide(0);
  return lines;
}
