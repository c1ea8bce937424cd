// The verdict box on the page of a sweep that belongs to a reproduction run.
// Usage: node verdict.mjs BASE_URL SWEEP_ID. Prints one JSON object: {word, claim, measured, errors}.
import { withPage } from "./browser.mjs";

const [base, sweep] = process.argv.slice(2);

const report = await withPage(base, async (page, errors) => {
  await page.goto(`${base}/#/sweeps/${sweep}`);
  await page.waitForSelector("body[data-ready=\"sweeps\"]", { timeout: 20000 });
  await page.waitForSelector(".verdict:not([hidden]) .verdict-word", { timeout: 20000 });
  const text = (selector) => page.$eval(selector, (element) => element.textContent.trim());
  return {
    errors,
    word: await text(".verdict-word"),
    claim: await text(".verdict-facts dd"),
    measured: await text(".verdict-facts .measured"),
  };
});
console.log(JSON.stringify(report));
