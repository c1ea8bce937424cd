// Load each dashboard page in headless Chromium, count what its charts drew and save a
// screenshot per page. Usage: node pages.mjs BASE_URL EXPERIMENT_ID SWEEP_ID OUT_DIR
// Prints one JSON object: {page: {charts: {name: counts}, rows, formFields}, errors}.
import { join } from "node:path";
import { countCharts, withPage } from "./browser.mjs";

const [base, experiment, sweep, outDir] = process.argv.slice(2);
const PAGES = [
  ["home", "/#/", "home"],
  ["experiment", `/#/experiments/${experiment}`, "experiments"],
  ["sweep", `/#/sweeps/${sweep}`, "sweeps"],
];

const report = await withPage(base, async (page, errors) => {
  const out = { errors };
  for (const [name, path, ready] of PAGES) {
    await page.goto(base + path);
    await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 20000 });
    out[name] = await countCharts(page);
    await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
  }
  return out;
});
console.log(JSON.stringify(report));
