// A running experiment in headless Chromium, on two pages. The first is left alone: it reports
// how many heatmap rows it shows each time that number changes, until the run ended and the page
// settled, then what it drew, and what the same page opened afresh (on the finished run) draws.
// On the second a reader, while the run trains, unticks the first probe and narrows the step
// range: it reports what stayed ticked and chosen once the run ended.
// Usage: node live.mjs BASE_URL EXPERIMENT_ID OUT_DIR DEADLINE_MS
// Prints one JSON object: {rows, live, finished, reader: {ticked, kept, range, maxRow}, errors}.
import { join } from "node:path";
import { countCharts, withPage } from "./browser.mjs";

const [base, experiment, outDir, deadlineMs] = process.argv.slice(2);
const url = `${base}/#/experiments/${experiment}`;
const until = Date.now() + Number(deadlineMs);
const left = () => ({ timeout: Math.max(until - Date.now(), 1) });
// Expressions evaluated in a page.
const STEPS = `[...document.querySelectorAll('[data-chart="heatmap"] rect.cell')].map((c) => Number(c.dataset.step))`;
const ROWS = `new Set(${STEPS}).size`;
const SETTLED = `document.body.dataset.ready === "experiments"`;
const TICKED = `[...document.querySelectorAll(".probe-picker input:checked")].map((box) => Number(box.value))`;
const RANGE_TO = 200;

async function narrow(reader) {
  await reader.waitForFunction(`${ROWS} >= 2`, null, left());
  await reader.locator(".probe-picker input").first().uncheck();
  await reader.evaluate((to) => {
    const input = document.querySelector(".range .to");
    input.value = String(to);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }, RANGE_TO);
  return reader.evaluate(TICKED);
}

const report = await withPage(base, async (page, errors, newPage) => {
  const reader = await newPage();
  await Promise.all([page.goto(url), reader.goto(url)]);
  const ticked = narrow(reader);
  const rows = [];
  for (;;) {
    const now = await page.evaluate(ROWS);
    if (now !== rows.at(-1)) rows.push(now);
    if (await page.evaluate(SETTLED)) break;
    // The next change of the row count, or the end; a deadline, not a pause.
    await page.waitForFunction(`${SETTLED} || ${ROWS} !== ${now}`, null, left());
  }
  const live = await countCharts(page);
  await page.screenshot({ path: join(outDir, "experiment-live.png"), fullPage: true });
  await reader.waitForFunction(SETTLED, null, left());
  const readerSaw = {
    ticked: await ticked,
    kept: await reader.evaluate(TICKED),
    range: await reader.evaluate(`[document.querySelector(".range .from").value, document.querySelector(".range .to").value]`),
    maxRow: await reader.evaluate(`Math.max(...${STEPS})`),
    rangeTo: RANGE_TO,
  };
  await page.goto("about:blank");
  await page.goto(url);
  await page.waitForFunction(SETTLED, null, left());
  return { rows, live: live.charts, finished: (await countCharts(page)).charts, reader: readerSaw, errors };
});
console.log(JSON.stringify(report));
