// Time to interactive of report.html in headless Chromium: from navigation to the moment the
// page's script has drawn the table and handed the page to the user (html[data-ready]).
//   node tests/browser/bench.mjs REPORT_HTML [RUNS]
// Prints, per run and as the median: the whole time, the part spent parsing the page before
// the script ran, the script (JSON.parse, indexing, first draw), then the time of a filter, a
// search and a sort on every account, and the JavaScript heap.
import { pathToFileURL } from "node:url";
import { statSync } from "node:fs";
import { chromium } from "playwright-core";

const [html, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const browser = await chromium.launch({
  executablePath: process.env.B2BREADY_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--enable-precise-memory-info"],
});
const timed = async (page, action, until) => {
  const t = Date.now();
  await action();
  await page.waitForFunction(until);
  return Date.now() - t;
};
const results = [];
for (let i = 0; i < runs; i++) {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(html).href, { timeout: 600_000 });
  await page.waitForSelector("html[data-ready]", { timeout: 600_000 });
  const ready = Number(await page.getAttribute("html", "data-ready-ms"));
  const script = Number(await page.getAttribute("html", "data-script-ms"));
  const accounts = Number(await page.getAttribute("html", "data-ready"));
  const filter = await timed(page, () => page.selectOption("#f-verdict", "ready"), () => location.hash.includes("verdict=ready"));
  const search = await timed(page, () => page.fill("#f-q", "zz"), () => location.hash.includes("q=zz"));
  await page.fill("#f-q", "");
  await page.selectOption("#f-verdict", "");
  const sort = await timed(page, () => page.click('th[data-sort="upn"] button'), () => location.hash.includes("sort=upn"));
  const heap = await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize : 0));
  results.push({ accounts, readyMs: ready, parseMs: ready - script, scriptMs: script, filterMs: filter, searchMs: search, sortMs: sort, heapMiB: Math.round(heap / 1048576) });
  console.log(JSON.stringify(results[results.length - 1]));
  await page.close();
}
await browser.close();
const median = (k) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
const keys = Object.keys(results[0]);
console.log(`median of ${runs}, ${(statSync(html).size / 1048576).toFixed(1)} MiB page: ` + keys.map((k) => `${k} ${median(k)}`).join(", "));
