// A running experiment's page in headless Chromium: how many heatmap rows it shows each time
// that number changes, until the run ended and the page settled; then what it drew, and what
// the same page opened afresh (on the finished run) draws.
// Usage: node live.mjs BASE_URL EXPERIMENT_ID OUT_DIR DEADLINE_MS
// Prints one JSON object: {rows: [counts], live: charts, finished: charts, errors}.
import { join } from "node:path";
import { countCharts, withPage } from "./browser.mjs";

const [base, experiment, outDir, deadlineMs] = process.argv.slice(2);
const url = `${base}/#/experiments/${experiment}`;
// Expressions evaluated in the page.
const ROWS = `new Set([...document.querySelectorAll('[data-chart="heatmap"] rect.cell')]
  .map((cell) => cell.dataset.step)).size`;
const SETTLED = `document.body.dataset.ready === "experiments"`;

const report = await withPage(base, async (page, errors) => {
  const rows = [];
  const until = Date.now() + Number(deadlineMs);
  await page.goto(url);
  for (;;) {
    const now = await page.evaluate(ROWS);
    if (now !== rows.at(-1)) rows.push(now);
    if (await page.evaluate(SETTLED)) break;
    // The next change of the row count, or the end; a deadline, not a pause.
    await page.waitForFunction(`${SETTLED} || ${ROWS} !== ${now}`, null,
      { timeout: Math.max(until - Date.now(), 1) });
  }
  const live = await countCharts(page);
  await page.screenshot({ path: join(outDir, "experiment-live.png"), fullPage: true });
  await page.goto("about:blank");
  await page.goto(url);
  await page.waitForFunction(SETTLED, null, { timeout: Number(deadlineMs) });
  return { rows, live: live.charts, finished: (await countCharts(page)).charts, errors };
});
console.log(JSON.stringify(report));
