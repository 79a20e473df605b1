// Accessibility (axe-core: no serious or critical violation) and page weight (under 100 KB
// transferred, nothing from another host) on the pages a tech uses.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { BASE, PHONE, launch } from "./helpers.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const GUIDE = "/guides/ignition-opcua-bad-connectionrejected-kepware";

let browser;
let casePath;
before(async () => {
  browser = await launch();
  const res = await fetch(BASE + "/api/cases", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": "quality-" + Date.now() },
    body: JSON.stringify({
      guide: "ignition-opcua-bad-connectionrejected-kepware",
      verbatim_alarm: "Bad_ConnectionRejected",
      outcome: "fixed",
      fix_applied: "Restarted the KEPServerEX runtime",
    }),
  });
  assert.equal(res.status, 201);
  casePath = (await res.json()).url;
});
after(async () => { await browser?.close(); });

const pages = () => [
  ["home", "/"],
  ["search", "/search?q=Bad_ConnectionRejected"],
  ["guide", GUIDE],
  ["case form", GUIDE + "/cases/new"],
  ["case page", casePath],
];

test("no serious or critical accessibility violations", async () => {
  // axe is injected as an inline script, which the site's own policy rightly forbids.
  const context = await browser.newContext({ ...PHONE, bypassCSP: true });
  const page = await context.newPage();
  for (const [name, path] of pages()) {
    await page.goto(BASE + path);
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(
      bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`),
      [],
      name,
    );
  }
  await context.close();
});

test("form errors are announced and focused", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(BASE + GUIDE + "/cases/new");
  // Bypass the browser's own required-field check to see the server's answer.
  await page.evaluate(() => document.querySelectorAll("[required]").forEach((el) => el.removeAttribute("required")));
  await page.fill("#part_count", "-3");
  await page.getByRole("button", { name: "Send case" }).click();
  await page.locator("#form-errors").waitFor();
  assert.equal(await page.locator("#form-errors").getAttribute("role"), "alert");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "form-errors");
  assert.equal(await page.locator("#verbatim_alarm").getAttribute("aria-describedby"), "verbatim_alarm-error");
  assert.equal(await page.locator("#part_count").getAttribute("aria-invalid"), "true");
  await context.close();
});

test("home, guide and form each transfer under 100 KB, all from this host", async () => {
  for (const [name, path] of pages().filter(([n]) => ["home", "guide", "case form"].includes(n))) {
    const context = await browser.newContext(PHONE);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    let bytes = 0;
    const hosts = new Set();
    cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
    cdp.on("Network.requestWillBeSent", (e) => {
      const url = new URL(e.request.url);
      // data: and blob: URLs never leave the page.
      if (url.protocol === "http:" || url.protocol === "https:") hosts.add(url.host);
    });
    await page.goto(BASE + path, { waitUntil: "networkidle" });
    assert.deepEqual([...hosts], [new URL(BASE).host], `${name}: every request goes to faultbook`);
    assert.ok(bytes < 100 * 1024, `${name} transferred ${bytes} bytes`);
    console.log(`${name}: ${bytes} bytes transferred`);
    await context.close();
  }
});
