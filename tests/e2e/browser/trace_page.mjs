// Opens Vitrine's trace page in headless Chromium (Debian's, driven by playwright-core),
// opens the CategoryListing trace, clicks a DataLoader span, saves a screenshot and
// prints what it saw as JSON for tests/e2e/test_trace_page_http.py to assert on.
//
//   node trace_page.mjs <server url> <screenshot.png> [chromium path]
import { chromium } from "playwright-core";

const [baseUrl, screenshotPath, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!baseUrl || !screenshotPath) {
  console.error("usage: node trace_page.mjs <server url> <screenshot.png> [chromium path]");
  process.exit(2);
}
const TIMEOUT_MS = 15000;

const browser = await chromium.launch({
  executablePath,
  args: [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(TIMEOUT_MS);
  // Console errors include Content-Security-Policy violations: the page must cause none.
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));

  const response = await page.goto(`${baseUrl}/_vitrine/traces`);
  const list = page.getByRole("table", { name: "Recent traces" });
  const open = list.getByRole("button", { name: "query CategoryListing", exact: true });
  await open.waitFor();
  const traceRows = await list.locator("tbody tr").count();
  await open.click();

  const spans = page.getByRole("list", { name: "Spans" });
  const serverRow = spans.getByRole("button", { name: /^query CategoryListing / });
  await serverRow.waitFor();
  const rows = await spans.locator(".span-row").evaluateAll((buttons) =>
    buttons.map((button) => ({
      name: button.querySelector(".span-name").textContent,
      category: [...button.classList].find((name) => name.startsWith("cat-")).slice(4),
      indent: button.querySelector(".span-name").style.paddingLeft,
      left: button.querySelector(".span-bar").style.left,
      width: button.querySelector(".span-bar").style.width,
    })),
  );

  await spans.getByRole("button", { name: /^dataloader ListingPageLoader / }).click();
  const details = page.getByRole("complementary", { name: "Span details" });
  await details.getByRole("heading", { name: "dataloader ListingPageLoader" }).waitFor();
  const attributes = Object.fromEntries(
    await details
      .getByRole("table", { name: "Attributes" })
      .locator("tr")
      .evaluateAll((trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])),
  );

  await page.screenshot({ path: screenshotPath, fullPage: false });
  console.log(
    JSON.stringify({
      status: response.status(),
      title: await page.title(),
      traceRows,
      rows,
      selected: await details.getByRole("heading", { level: 3 }).textContent(),
      attributes,
      problems,
    }),
  );
} finally {
  await browser.close();
}
