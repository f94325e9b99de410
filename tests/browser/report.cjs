// Opens a rolescope report in headless Chromium and prints what a reader would see, as one
// JSON object on stdout: console and page errors, every request the page made, the figures,
// the first role of the roles table, the public functions listed, and what filtering, sorting
// and copying did. The Rust e2e test (tests/e2e/report.rs) compares it with the datasets.
//
// Usage: node report.cjs REPORT.html SCREENSHOT.png FILTER_TERM
"use strict";
const { chromium } = require("playwright-core");
const path = require("path");

async function main() {
  const [report, screenshot, term] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.ROLESCOPE_CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const out = { console_errors: [], page_errors: [], requests: [] };
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") out.console_errors.push(m.text()); });
    page.on("pageerror", (e) => out.page_errors.push(String(e)));
    page.on("request", (r) => out.requests.push(r.url()));
    const url = "file://" + path.resolve(report);
    const started = Date.now();
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("html[data-ready='1']", { timeout: 30000 }).catch(() => {});
    out.load_ms = Date.now() - started;
    out.url = url;
    out.ready = (await page.getAttribute("html", "data-ready")) === "1";
    out.figures = await page.$$eval("[data-figure]", (els) =>
      Object.fromEntries(els.map((e) => [e.getAttribute("data-figure"), e.textContent.trim()])));
    const firstRole = async () => page.$eval("#t-roles tbody tr:not([hidden])", (r) => ({
      arn: r.getAttribute("data-role"),
      score: Number(r.cells[2].getAttribute("data-v")),
    }));
    out.top_role = await firstRole();
    out.public = await page.$$eval("#t-public tbody tr", (rows) => rows.map((r) => r.getAttribute("data-public")));
    const visible = () => page.$$eval("#t-roles tbody tr", (rows) => rows.filter((r) => !r.hidden).length);
    const counter = () => page.textContent("[data-count-for='t-roles']");
    const rows = await visible();
    await page.fill("input[data-filter='t-roles']", term);
    const filtered = await visible();
    const counted = await counter();
    const allMatch = await page.$$eval("#t-roles tbody tr:not([hidden])", (rs, t) =>
      rs.every((r) => r.textContent.toLowerCase().includes(t.toLowerCase())), term);
    await page.fill("input[data-filter='t-roles']", "");
    out.filter = { term, rows, filtered, counted: Number(counted), all_match: allMatch, restored: await visible() };
    const header = "#t-roles thead th:nth-child(3)";
    await page.click(header);
    const descending = await firstRole();
    await page.click(header);
    const ascending = await firstRole();
    out.sort = { descending: descending.score, ascending: ascending.score,
      aria: await page.getAttribute(header, "aria-sort") };
    await page.click("#t-roles tbody tr button.copy");
    out.copy = await page.textContent("#t-roles tbody tr button.copy");
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot });
    out.screenshot = screenshot;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => { console.error(e); process.exit(1); });
