// Loads the otlpkit-receiver web page in a headless Chromium and checks that the trace
// `cargo xtask e2e` sent is shown: listed with its root span and error mark, its waterfall
// with every span name at its depth, the error span marked, and the log record of the
// error span in its details. Saves a screenshot. Exits non-zero on the first failed check.
//
//   node receiver-page.mjs <page url> <trace id> <screenshot.png>

import chromium from "@sparticuz/chromium";
import puppeteer from "puppeteer-core";

const [url, traceId, screenshot] = process.argv.slice(2);
const EXPECTED = [
  // [name, depth, error]
  ["POST /checkout", 0, true],
  ["price items", 1, false],
  ["db.query", 2, false],
  ["charge card", 1, true],
];
const WAIT = { timeout: 30000 };

function check(condition, message) {
  if (!condition) throw new Error("check failed: " + message);
}

// Clicks the element in one synchronous evaluation. The page re-renders the
// trace list and the waterfall whenever new telemetry arrives, so an element
// found in one round trip (as `page.click` does before scrolling to it and
// clicking) can be detached by the next.
async function clickNow(page, selector) {
  const found = await page.evaluate((s) => {
    const element = document.querySelector(s);
    element?.click();
    return element !== null;
  }, selector);
  check(found, "an element to click: " + selector);
}

const browser = await puppeteer.launch({
  args: chromium.args,
  executablePath: await chromium.executablePath(),
  headless: true,
  defaultViewport: { width: 1400, height: 760 },
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
  await page.goto(url, { waitUntil: "networkidle0", ...WAIT });

  const row = `#trace-rows tr[data-trace-id="${traceId}"]`;
  await page.waitForSelector(row, WAIT);
  const listed = await page.$eval(row, (tr) => ({
    root: tr.cells[0].textContent, service: tr.cells[1].textContent,
    spans: tr.cells[3].textContent, errorMark: tr.querySelector(".error-mark") !== null,
  }));
  check(listed.root === "POST /checkout", "root span listed: " + JSON.stringify(listed));
  check(listed.service === "checkout", "service listed: " + JSON.stringify(listed));
  check(listed.spans === "4", "span count listed: " + JSON.stringify(listed));
  check(listed.errorMark, "error mark on the trace");

  await clickNow(page, row);
  await page.waitForFunction(() => document.querySelectorAll(".span-row").length === 4, WAIT);
  // Queried and read in one synchronous evaluation: the page re-renders the
  // waterfall whenever new telemetry arrives, and rows found in one round
  // trip can be detached by the next (their computed style is then empty).
  const spans = await page.evaluate(() => [...document.querySelectorAll(".span-row")].map((r) => [
    r.dataset.name, Number(r.dataset.depth), r.classList.contains("error"),
    getComputedStyle(r.querySelector(".span-name")).paddingLeft,
  ]));
  for (let i = 0; i < EXPECTED.length; i++) {
    const [name, depth, error] = EXPECTED[i];
    check(spans[i][0] === name && spans[i][1] === depth && spans[i][2] === error,
      `span ${i}: expected ${name} at depth ${depth}${error ? " marked as error" : ""}, got ${JSON.stringify(spans[i])}`);
  }
  // Nesting is visible: each level is indented further than its parent.
  check(parseFloat(spans[2][3]) > parseFloat(spans[1][3]) && parseFloat(spans[1][3]) > parseFloat(spans[0][3]),
    "indentation grows with depth: " + JSON.stringify(spans.map((s) => s[3])));

  await clickNow(page, '.span-row[data-name="charge card"]');
  await page.waitForFunction(() => document.querySelector("#details h2")?.textContent === "charge card", WAIT);
  await page.waitForFunction(() => document.querySelector(".span-logs")?.textContent.includes("card declined by issuer"), WAIT);
  const details = await page.$eval("#details", (d) => d.textContent);
  check(details.includes("error: card declined"), "status in the details: " + details);
  check(details.includes("payment.provider"), "attributes in the details: " + details);
  check(errors.length === 0, "no page errors: " + errors.join("; "));

  await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ listed, spans: spans.map((s) => s.slice(0, 3)), screenshot }));
} finally {
  await browser.close();
}
