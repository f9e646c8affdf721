// Drives report.html in headless Chromium and checks it against the findings.json of the same
// scan. Run by tests/integration/browser.rs:
//   node report.mjs REPORT_HTML FINDINGS_JSON [--hostile TEXT]... [--left-out] [--quick]
// Prints one JSON line of figures; exits 1 naming the first check that failed.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const [htmlPath, findingsPath] = args;
const hostile = args.flatMap((a, i) => (args[i - 1] === "--hostile" ? [a] : []));
const leftOut = args.includes("--left-out");
const quick = args.includes("--quick");
const findings = JSON.parse(readFileSync(findingsPath, "utf8"));
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const url = pathToFileURL(htmlPath).href;

let checks = 0;
function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  checks += 1;
}
function equal(actual, expected, what) {
  check(JSON.stringify(actual) === JSON.stringify(expected), `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

// ---- what findings.json says the page must show --------------------------------------------
const verdicts = findings.verdicts;
const ruleById = Object.fromEntries(findings.rules.map((r) => [r.id, r]));
const bySubject = new Map();
for (const f of findings.findings) {
  if (f.subject.type !== "user") continue;
  if (!bySubject.has(f.subject.id)) bySubject.set(f.subject.id, []);
  bySubject.get(f.subject.id).push(f);
}
const tenantFindings = findings.findings.filter((f) => f.subject.type === "tenant");
const ownOf = (v) => bySubject.get(v.id) || [];
const rulesOf = (v) => new Set([...v.blockers, ...v.warnings, ...ownOf(v).map((f) => f.rule)]);
const expect = {
  verdict: (x) => verdicts.filter((v) => v.verdict === x).length,
  rule: (id) => verdicts.filter((v) => rulesOf(v).has(id)).length,
  severity: (s) => verdicts.filter((v) => [...rulesOf(v)].some((r) => ruleById[r].severity === s)).length,
  state: (st) => verdicts.filter((v) => ownOf(v).some((f) =>
    st === "new" ? f.baseline === "new" : st === "accepted" ? f.accepted :
      st === "expired" ? f.exception && f.exception.expired : st === "failing" ? f.fails : f.baseline === "unchanged")).length,
  search: (q) => verdicts.filter((v) => [v.userPrincipalName, v.displayName, v.mail, v.id]
    .some((t) => (t || "").toLowerCase().includes(q.toLowerCase()))).length,
};
const fmt = (n) => new Intl.NumberFormat("en-US").format(n);

// ---- the browser ---------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: process.env.B2BREADY_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const problems = [];
const context = await browser.newContext();
await context.route(/^(?!file:|data:|blob:)/, (route) => { problems.push(`request to ${route.request().url()}`); route.abort(); });

async function open(hash = "") {
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => { problems.push(`a script opened a ${d.type()} dialog: ${d.message()}`); d.dismiss(); });
  await page.goto(url + hash);
  await page.waitForSelector("html[data-ready]", { timeout: 120_000 });
  return page;
}
const count = (page) => page.locator("#count").textContent();
async function shows(page, n, what) {
  const all = verdicts.length;
  const text = await count(page);
  const head = n === all ? `${fmt(all)} accounts` : `${fmt(n)} of ${fmt(all)} accounts`;
  check(text.startsWith(head), `${what}: the count says "${text}", expected "${head}…"`);
  const rows = await page.locator("#accounts tbody tr").count();
  equal(rows, Math.min(n, 100), `${what}: rows on the first page`);
}
async function select(page, id, value) {
  await page.selectOption(id, value);
}
async function search(page, text) {
  await page.fill("#f-q", text);
  await page.waitForFunction((t) => (new URLSearchParams(location.hash.slice(1)).get("q") || "") === t, text);
}
async function axe(page, what) {
  const result = await page.evaluate(async (src) => {
    (0, eval)(src); // evaluated by the DevTools protocol, which the page's policy does not govern
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  }, axeSource);
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `${what}: axe-core found ${JSON.stringify(bad)}`);
  return result.length;
}

const started = Date.now();
const page = await open();
const readyMs = Number(await page.getAttribute("html", "data-ready-ms"));
const loadMs = Date.now() - started;

// Totals and charts equal findings.json.
const s = findings.summary;
const cards = { total: s.usersTotal, "in-scope": s.inScope, ready: s.ready, blocked: s.blocked, pending: s.pending,
  excluded: s.excluded, "out-of-scope": s.outOfScope, blocker: s.findingsBlocker, warning: s.findingsWarning, info: s.findingsInfo };
for (const [id, n] of Object.entries(cards)) equal(await page.textContent(`#n-${id}`), String(n), `the ${id} card`);
for (const key of ["ready", "blocked", "pending", "excluded", "out-of-scope"]) {
  const n = key === "out-of-scope" ? s.outOfScope : s[key];
  equal(await page.textContent(`#verdict-chart tr[data-key="${key}"] td.num`), String(n), `the ${key} bar`);
}
const charted = findings.rules.filter((r) => r.count > 0);
equal(await page.locator("#rule-chart tbody tr").count(), charted.length, "bars in the rule chart");
for (const r of charted) equal(await page.textContent(`#rule-chart tr[data-rule-row="${r.id}"] td.num`), String(r.count), `the bar of ${r.id}`);

// The table holds every account, or says what it left out.
const listed = await page.getAttribute("html", "data-ready");
if (leftOut) {
  const note = await page.textContent("#left-out");
  check(note.includes(`of ${verdicts.length} accounts`) && note.includes(`Left out: ${verdicts.length - Number(listed)} accounts`), `the left-out note: ${note}`);
} else {
  equal(Number(listed), verdicts.length, "accounts in the page");
  check(await page.locator("#left-out").count() === 0, "no left-out note when every account is listed");
  await shows(page, verdicts.length, "unfiltered");
}

if (!leftOut) {
  // Filters, each alone, against findings.json.
  for (const v of ["blocked", "ready", "pending", "excluded"]) {
    await select(page, "#f-verdict", v);
    await shows(page, expect.verdict(v), `verdict ${v}`);
  }
  await select(page, "#f-verdict", "");
  const ruleIds = (await page.locator("#f-rule option").evaluateAll((o) => o.map((x) => x.value))).filter(Boolean);
  for (const id of quick ? ruleIds.slice(0, 4) : ruleIds) {
    await select(page, "#f-rule", id);
    await shows(page, expect.rule(id), `rule ${id}`);
  }
  await select(page, "#f-rule", "");
  for (const sev of ["blocker", "warning", "info"]) {
    await select(page, "#f-severity", sev);
    await shows(page, expect.severity(sev), `severity ${sev}`);
  }
  await select(page, "#f-severity", "");
  for (const st of ["new", "unchanged", "accepted", "expired", "failing"]) {
    await select(page, "#f-state", st);
    await shows(page, expect.state(st), `review state ${st}`);
  }
  await select(page, "#f-state", "");
  // The review's counts lead to the same lists.
  for (const link of await page.locator("[data-review]").evaluateAll((l) => l.map((x) => x.getAttribute("data-review")))) {
    await page.click(`a[data-review="${link}"]`);
    equal(await page.inputValue("#f-state"), link, `the review filter after choosing "${link}"`);
    await shows(page, expect.state(link), `review state ${link} from the review section`);
  }
  await page.click("#reset");
  // And the verdict chart to its verdicts.
  await page.click('#verdict-chart a[data-verdict="blocked"]');
  await shows(page, expect.verdict("blocked"), "blocked accounts from the verdict chart");
  await page.click("#reset");

  // Search, then a combination, kept in the URL fragment: a link reproduces the view.
  const probe = verdicts.find((v) => v.verdict === "blocked") || verdicts[0];
  const term = (probe.userPrincipalName || probe.id).slice(0, 6);
  await search(page, term);
  await shows(page, expect.search(term), `search "${term}"`);
  await search(page, "");
  await select(page, "#f-verdict", "blocked");
  const blockerRule = (probe.blockers[0]) || ruleIds[0];
  await select(page, "#f-rule", blockerRule);
  const both = verdicts.filter((v) => v.verdict === "blocked" && rulesOf(v).has(blockerRule)).length;
  await shows(page, both, "verdict and rule together");
  const hash = await page.evaluate(() => location.hash);
  check(hash.includes("verdict=blocked") && hash.includes(`rule=${encodeURIComponent(blockerRule)}`), `the fragment keeps the view: ${hash}`);
  const linked = await open(hash);
  await shows(linked, both, "the same view opened from its link");
  equal(await linked.inputValue("#f-verdict"), "blocked", "the verdict filter after opening the link");
  equal(await linked.inputValue("#f-rule"), blockerRule, "the rule filter after opening the link");

  // Export and copy take every filtered row, not just the page.
  await linked.evaluate(() => {
    const real = URL.createObjectURL;
    URL.createObjectURL = (blob) => { window.__exported = blob.arrayBuffer().then((b) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(b)); return real(blob); };
  });
  await linked.click("#export");
  const csv = await linked.evaluate(() => window.__exported);
  check(csv.startsWith("\uFEFFid,user_principal_name,display_name,mail,verdict,reason,blockers,warnings\r\n"), "the CSV header and byte order mark");
  equal(csv.trimEnd().split("\r\n").length - 1, both, "rows in the exported CSV");
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await linked.click("#copy");
  await linked.waitForSelector("#status:not(:empty)");
  const copied = await linked.textContent("#status");
  const upns = verdicts.filter((v) => v.verdict === "blocked" && rulesOf(v).has(blockerRule) && v.userPrincipalName)
    .map((v) => v.userPrincipalName);
  equal(copied, `Copied ${fmt(upns.length)} UPNs`, "the copy message");
  equal(await linked.evaluate(() => navigator.clipboard.readText()), upns.join("\r\n"), "the UPNs on the clipboard");
  await linked.close();

  // Sorting by UPN, both ways, with the keyboard.
  await page.click("#reset");
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  const upnsSorted = verdicts.map((v) => v.userPrincipalName).filter(Boolean).sort(collator.compare);
  await page.focus('th[data-sort="upn"] button');
  await page.keyboard.press("Enter");
  equal(await page.getAttribute('th[data-sort="upn"]', "aria-sort"), "ascending", "aria-sort after one press");
  equal(await page.textContent("#accounts tbody tr:first-child td:nth-child(2) button"), upnsSorted[0], "the first UPN ascending");
  await page.keyboard.press("Enter");
  equal(await page.textContent("#accounts tbody tr:first-child td:nth-child(2) button"), upnsSorted[upnsSorted.length - 1], "the first UPN descending");
  await page.click("#reset");
}

// Drill-down: an account with the most findings, opened with the keyboard.
const RANK = { blocked: 0, ready: 1, pending: 2, excluded: 3 };
const onPage = [...verdicts].sort((a, b) => RANK[a.verdict] - RANK[b.verdict]).slice(0, Number(listed));
const rich = onPage.reduce((best, v) => (ownOf(v).length > ownOf(best).length ? v : best), onPage[0]);
await search(page, rich.id);
await page.waitForSelector(`#accounts tbody tr[data-id="${rich.id}"]`);
await page.focus(`#accounts tbody tr[data-id="${rich.id}"] button[data-account]`);
await page.keyboard.press("Enter");
await page.waitForSelector("#account-dialog[open]");
const tenantShown = tenantFindings.filter((f) => !ownOf(rich).some((o) => o.rule === f.rule) && (rich.blockers.includes(f.rule) || rich.warnings.includes(f.rule)));
equal(await page.locator("#account-body article.finding").count(), ownOf(rich).length + tenantShown.length, `findings shown for ${rich.id}`);
const bodyText = await page.textContent("#account-body");
for (const f of ownOf(rich)) check(bodyText.includes(f.message), `the message of ${f.rule} in the account view`);
for (const f of ownOf(rich)) {
  for (const [k, v] of Object.entries(f.evidence)) check(bodyText.includes(k) && bodyText.includes(String(v)), `evidence ${k} of ${f.rule} in the account view`);
}
equal(await page.locator("#account-body article.finding .rem").count(), ownOf(rich).length + tenantShown.length, "a remediation with every finding");
check((await page.evaluate(() => location.hash)).includes(`account=${encodeURIComponent(rich.id)}`), "the fragment names the open account");
const axeAccount = await axe(page, "the account view");
await page.keyboard.press("Escape");
await page.waitForSelector("#account-dialog", { state: "hidden" });
check(await page.evaluate((id) => document.activeElement && document.activeElement.getAttribute("data-account") === id, rich.id), "focus returns to the account after Escape");
await search(page, "");

// Rule drill-down from the chart: documentation, then the accounts it hits in the table.
const top = charted.find((r) => r.target === "user") || charted[0];
if (top) {
  await page.click(`#rule-chart tr[data-rule-row="${top.id}"] a`);
  await page.waitForSelector("#rule-dialog[open]");
  const doc = await page.textContent("#rule-body");
  check(doc.includes(top.id), `the rule view names ${top.id}`);
  if (!leftOut) {
    await page.click("#rule-body [data-filter-rule]");
    await page.waitForSelector("#rule-dialog", { state: "hidden" });
    await shows(page, expect.rule(top.id), `the accounts of ${top.id} from its view`);
    equal(await page.inputValue("#f-rule"), top.id, "the rule filter set from the rule view");
  }
}

// Hostile tenant text is shown as text and runs nothing.
for (const text of hostile) {
  await page.click("#reset");
  await search(page, text.slice(0, 12));
  const cells = await page.locator("#accounts tbody").textContent();
  check(cells.includes(text), `hostile text shown verbatim: ${text}`);
}
check(await page.evaluate(() => document.querySelectorAll("#accounts img, #account-body img, #accounts script").length === 0), "no element made from tenant text");
check(await page.evaluate(() => window.__pwned === undefined), "no tenant text ran as script");

const axeMain = await axe(page, "the page");
check(problems.length === 0, `the browser reported: ${problems.join(" | ")}`);
await browser.close();
console.log(JSON.stringify({ accounts: Number(listed), readyMs, loadMs, checks, axeMinorOrModerate: axeMain + axeAccount }));
