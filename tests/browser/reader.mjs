// A reader's gestures on a chart (figure[data-chart=NAME]) and what the chart shows back.

const figure = (name) => `figure[data-chart="${name}"]`;

// The plot's box in page coordinates (the axes frame's border rectangle).
async function plotBox(page, name) {
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

// Dragging from 30% to 70% across the plot: the results request it made and the steps then drawn.
export async function zoom(page, name) {
  const box = await plotBox(page, name);
  const asked = page.waitForRequest((request) => request.url().includes("step_from="));
  const middle = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.3, middle);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, middle, { steps: 5 });
  await page.mouse.up();
  const url = (await asked).url();
  await page.waitForFunction((range) => {
    const steps = [...document.querySelectorAll(`${range.selector} circle.point`)].map((c) => Number(c.dataset.x));
    const from = Number(document.querySelector(".range .from").value);
    return steps.length > 0 && steps.every((s) => s >= from);
  }, { selector: figure(name) });
  const steps = await page.$$eval(`${figure(name)} circle.point`, (dots) => dots.map((c) => Number(c.dataset.x)));
  const inputs = await page.$eval(".range", (r) => [r.querySelector(".from").value, r.querySelector(".to").value]);
  await page.click(".range .all"); // back to every step, as the page opened
  return { url, steps, inputs };
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
