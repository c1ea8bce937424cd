// Load each dashboard page in headless Chromium, count what its charts drew and save a
// screenshot per page. Usage: node pages.mjs BASE_URL EXPERIMENT_ID SWEEP_ID OUT_DIR
// Prints one JSON object: {page: {chart name: [drawn data count, svg element count]}, errors}.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(join(process.env.PLAYWRIGHT_DIR || process.cwd(), "noop.js"));
const { chromium } = require("playwright-core");
const [base, experiment, sweep, outDir] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "gradflow-chromium-"));
const PAGES = [
  ["home", "/#/", "home"],
  ["experiment", `/#/experiments/${experiment}`, "experiments"],
  ["sweep", `/#/sweeps/${sweep}`, "sweeps"],
];

// A fresh profile per run (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1366, height: 900 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const report = { errors: [] };
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => report.errors.push(String(error)));
  page.on("console", (message) => message.type() === "error" && report.errors.push(message.text()));
  // Everything must come from the service itself: any other host is a failure.
  page.on("request", (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith("data:")) {
      report.errors.push(`off-site request: ${request.url()}`);
    }
  });
  for (const [name, path, ready] of PAGES) {
    await page.goto(base + path);
    await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 20000 });
    report[name] = await page.evaluate(() => {
      const charts = {};
      for (const figure of document.querySelectorAll("figure.chart")) {
        const key = figure.dataset.chart;
        const entry = charts[key] || { drawn: 0, paths: 0, rects: 0, points: 0, figures: 0 };
        entry.drawn += Number(figure.dataset.drawn || 0);
        entry.paths += figure.querySelectorAll("path.line[data-points]").length;
        entry.rects += figure.querySelectorAll("rect.cell").length;
        entry.points += figure.querySelectorAll("circle.point").length;
        entry.markers = (entry.markers || 0) + figure.querySelectorAll("line.marker").length;
        entry.figures += 1;
        charts[key] = entry;
      }
      const rows = document.querySelectorAll("table.list tr").length;
      return { charts, rows, formFields: document.querySelectorAll("[data-path]").length };
    });
    await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report));
