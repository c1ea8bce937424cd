// Headless Chromium for the dashboard's tests: a fresh profile per run, every page error and
// every request off the service recorded, and what each chart drew counted.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(join(process.env.PLAYWRIGHT_DIR || process.cwd(), "noop.js"));
const { chromium } = require("playwright-core");

// Runs use(page, errors, newPage) in a new browser and closes it; returns use's value.
// newPage() opens another page watched the same way.
export async function withPage(base, use) {
  const profile = mkdtempSync(join(tmpdir(), "gradflow-chromium-"));
  // playwright passes the profile as --user-data-dir.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1366, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const errors = [];
  const newPage = async () => {
    const page = await browser.newPage();
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    // Everything must come from the service itself: any other host is a failure.
    page.on("request", (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith("data:")) {
        errors.push(`off-site request: ${request.url()}`);
      }
    });
    return page;
  };
  try {
    return await use(await newPage(), errors, newPage);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// Per chart (figure[data-chart]): the drawn data count, its lines, heatmap cells, points,
// markers and figures; `shapes` holds the lines' paths and the cells' steps and values, so two
// pages can be compared datum by datum.
export function countCharts(page) {
  return page.evaluate(() => {
    const charts = {};
    for (const figure of document.querySelectorAll("figure.chart")) {
      const key = figure.dataset.chart;
      const entry = charts[key] || { drawn: 0, paths: 0, rects: 0, points: 0, markers: 0, figures: 0, shapes: [] };
      entry.drawn += Number(figure.dataset.drawn || 0);
      entry.paths += figure.querySelectorAll("path.line[data-points]").length;
      entry.rects += figure.querySelectorAll("rect.cell").length;
      entry.points += figure.querySelectorAll("circle.point").length;
      entry.markers += figure.querySelectorAll("line.marker").length;
      entry.figures += 1;
      for (const line of figure.querySelectorAll("path.line")) entry.shapes.push(line.getAttribute("d"));
      for (const cell of figure.querySelectorAll("rect.cell")) entry.shapes.push(`${cell.dataset.step}:${cell.dataset.log10}`);
      charts[key] = entry;
    }
    const rows = document.querySelectorAll("table.list tr").length;
    return { charts, rows, formFields: document.querySelectorAll("[data-path]").length };
  });
}
