// Load each dashboard page in headless Chromium, count what its charts drew, use them as a
// reader would (hover, drag to zoom, export, toggles) and save a screenshot per page.
// Usage: node pages.mjs BASE_URL EXPERIMENT_ID SWEEP_ID DIVERGED_ID OUT_DIR [COMPARE_IDS]
// Prints one JSON object: {page: {charts: {name: counts}, rows, formFields, ...}, errors}.
import { join } from "node:path";
import { countCharts, withPage } from "./browser.mjs";
import { axes, exported, hover, smoothed, zoom } from "./reader.mjs";

const [base, experiment, sweep, diverged, outDir, compare] = process.argv.slice(2);
const PAGES = [
  ["home", "/#/", "home"],
  ["experiment", `/#/experiments/${experiment}`, "experiments"],
  ["sweep", `/#/sweeps/${sweep}`, "sweeps"],
  ["diverged", `/#/experiments/${diverged}`, "experiments"],
  ...(compare ? [["compare", `/#/compare/${compare}`, "compare"]] : []),
];
const STEP_CHARTS = ["loss", "grad-norm"];

// What each page is asked besides its counts, before its screenshot.
const READ = {
  home: async (page) => ({
    outcomes: await page.$$eval("table.experiments tr[data-id]", (rows) => rows.map((row) =>
      ({ id: row.dataset.id, ...Object.fromEntries([...row.querySelectorAll("td[data-key]")]
        .map((cell) => [cell.dataset.key, cell.textContent.trim()])) }))),
  }),
  experiment: async (page) => ({
    axes: await axes(page, "curves"),
    colorbar: await page.$eval('[data-chart="heatmap"] .colorbar', (bar) => ({
      low: Number(bar.dataset.low), high: Number(bar.dataset.high),
      ticks: [...bar.querySelectorAll(".colorbar-tick")].map((tick) => Number(tick.dataset.value)),
      decades: [...bar.querySelectorAll(".colorbar-tick[data-decade]")].map((tick) => Number(tick.dataset.decade)),
    })),
    hover: { loss: await hover(page, "loss"), heatmap: await hover(page, "heatmap") },
    smoothed: await smoothed(page, "loss", 0.6),
    exported: await exported(page, "loss"),
    zoom: await zoom(page, "loss"),
  }),
  sweep: async (page) => ({
    metric: await page.$eval(".metric", (select) => select.value),
    hover: await hover(page, "sweep-overlay"),
  }),
  diverged: async (page) => ({
    note: await page.$eval(".divergence-note", (note) => note.textContent),
    domains: Object.fromEntries(await Promise.all(STEP_CHARTS.map(async (name) =>
      [name, await page.$eval(`figure[data-chart="${name}"] svg`, (svg) => ({
        x0: Number(svg.dataset.x0), x1: Number(svg.dataset.x1),
        divergence: [...svg.querySelectorAll("line.divergence")].map((line) => Number(line.dataset.x)),
      }))]))),
  }),
  compare: async (page) => {
    const legends = await page.$$eval("figure.chart", (figures) => Object.fromEntries(figures.map((f) =>
      [f.dataset.chart, [...f.querySelectorAll(".legend span")].map((s) => s.textContent)])));
    const byT = await hover(page, "compare-hidden");
    await page.check(".by-end"); // align at the end of the sequence: redrawn by t - T
    const byEnd = { domain: await page.$eval('[data-chart="compare-hidden"] svg', (svg) =>
      [Number(svg.dataset.x0), Number(svg.dataset.x1)]), hover: await hover(page, "compare-hidden") };
    return { legends, byT, byEnd, counts: (await countCharts(page)).charts["compare-hidden"] };
  },
};

const report = await withPage(base, async (page, errors) => {
  const out = { errors };
  for (const [name, path, ready] of PAGES) {
    await page.goto(base + path);
    await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 20000 });
    out[name] = { ...(await countCharts(page)), ...(await READ[name](page)) };
    await page.mouse.move(0, 0); // no read-out left in the screenshot
    await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
  }
  return out;
});
console.log(JSON.stringify(report));
