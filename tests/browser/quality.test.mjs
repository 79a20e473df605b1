// Accessibility (axe-core: no serious or critical violation) and page weight (under 100 KB
// transferred, nothing from another host) on the pages a tech uses, and on the login, account
// and admin pages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, PHONE, TECH, ADMIN, assertAccessible, csrfToken, launch, login, loginQuietly } from "./helpers.mjs";

const GUIDE = "/guides/ignition-opcua-bad-connectionrejected-kepware";

let browser;
let casePath;
before(async () => {
  browser = await launch();
  // A case to look at, filed through the API with the tech's session (and its form token).
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, TECH.user, TECH.password, GUIDE + "/cases/new");
  const res = await context.request.post(BASE + "/api/cases", {
    headers: {
      "Content-Type": "application/json",
      "Idempotency-Key": "quality-" + Date.now(),
      "X-CSRF-Token": await csrfToken(page),
    },
    data: JSON.stringify({
      guide: "ignition-opcua-bad-connectionrejected-kepware",
      verbatim_alarm: "Bad_ConnectionRejected",
      outcome: "fixed",
      fix_applied: "Restarted the KEPServerEX runtime",
    }),
  });
  assert.equal(res.status(), 201, await res.text());
  casePath = (await res.json()).url;
  await context.close();
});
after(async () => { await browser?.close(); });

const pages = () => [
  ["home", "/"],
  ["search", "/search?q=Bad_ConnectionRejected"],
  ["guide", GUIDE],
  ["case form", GUIDE + "/cases/new"],
  ["case page", casePath],
];

/** Opens each page in one context (axe needs `bypassCSP`) and checks it with axe. */
async function checkPages(list, user) {
  const context = await browser.newContext({ ...PHONE, bypassCSP: true });
  const page = await context.newPage();
  if (user) await login(page, user.user, user.password);
  for (const [name, path] of list) {
    const res = await page.goto(BASE + path);
    assert.equal(new URL(page.url()).pathname, path.split("?")[0], `${name}: not sent elsewhere`);
    assert.equal(res.status(), 200, name);
    await assertAccessible(page, name);
  }
  await context.close();
}

test("no serious or critical accessibility violations", async () => {
  await checkPages(pages(), TECH);
});

test("login, account and admin pages: no serious or critical accessibility violations", async () => {
  await checkPages([["login", "/login?next=%2Fcases"]], null);
  await checkPages(
    [
      ["account", "/account"],
      ["admin users", "/admin/users"],
      ["admin tokens", "/admin/tokens"],
      ["admin audit", "/admin/audit"],
    ],
    ADMIN,
  );
});

test("form errors are announced and focused", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await login(page, TECH.user, TECH.password, GUIDE + "/cases/new");
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
    // The form is for logged-in techs; logging in loads no page, so the count is a first visit's.
    if (name === "case form") await loginQuietly(context, TECH.user, TECH.password);
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
    assert.equal(new URL(page.url()).pathname, path, `${name}: not sent to the login page`);
    assert.deepEqual([...hosts], [new URL(BASE).host], `${name}: every request goes to faultbook`);
    assert.ok(bytes < 100 * 1024, `${name} transferred ${bytes} bytes`);
    console.log(`${name}: ${bytes} bytes transferred`);
    await context.close();
  }
});
