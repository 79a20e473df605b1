// Over https through nginx: the page is a secure context and its service worker takes control,
// which phones need for offline filing. The certificate is the test's own, hence the exception.
import { chromium } from "../browser/node_modules/playwright-core/index.mjs";
import assert from "node:assert/strict";

const base = process.env.FAULTBOOK_URL;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--ignore-certificate-errors"],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  assert.equal(await page.evaluate(() => window.isSecureContext), true, "https page is a secure context");
  const scope = await page.evaluate(async () => {
    const reg = await Promise.race([
      navigator.serviceWorker.ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error("no service worker within 15 s")), 15000)),
    ]);
    return reg.active ? reg.scope : null;
  });
  assert.equal(scope, `${base}/`, "the service worker is active for the whole site");
  console.log(`ok: service worker active over https, scope ${scope}`);
} finally {
  await browser.close();
}
