// Accounts as people meet them: a tech sent to the login page from "File a case" comes back to
// the form; the admin adds a person and creates a token whose secret is shown once; logging out
// (here, or everywhere) really ends the session.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  BASE, FIXTURES, PHONE, DESKTOP, TECH, ADMIN, csrfToken, launch, login, shot, submitLogin, token,
} from "./helpers.mjs";

const GUIDE = "/guides/ignition-opcua-bad-connectionrejected-kepware";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The table row whose first cell is exactly `name`. */
function rowOf(page, name) {
  return page.locator("table.grid tbody tr").filter({ has: page.locator(`td:first-child:text-is("${name}")`) });
}

/** Adds a person through the form on /admin/users (the page must be logged in as an admin). */
async function addUser(page, name, role, password) {
  await page.goto(BASE + "/admin/users");
  await page.fill("#new-name", name);
  await page.selectOption("#new-role", role);
  await page.fill("#new-password", password);
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.locator(".notice").filter({ hasText: `Added ${name} as ${role}.` }).waitFor();
}

function newPassword() {
  return "relay cabinet " + Math.random().toString(36).slice(2, 10);
}

test("phone: File a case sends an anonymous visitor to log in, then back to the form, and the case is filed", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(BASE + GUIDE);
  await page.getByRole("link", { name: "File a case" }).first().click();
  await page.waitForURL(/\/login\?/);
  assert.equal(new URL(page.url()).searchParams.get("next"), GUIDE + "/cases/new", "the login page knows where to go next");
  assert.equal(await page.locator("h1").innerText(), "Log in");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the login page is ${overflow}px wider than the screen`);
  await shot(page, "phone-login");

  await submitLogin(page, TECH.user, TECH.password);
  assert.equal(page.url(), BASE + GUIDE + "/cases/new", "back on the case form of that guide");
  assert.equal(await page.locator("h1").innerText(), "File a case");
  // The session cookie is out of reach of scripts and not sent along by other sites' forms.
  const cookie = (await context.cookies()).find((c) => c.name === "faultbook");
  assert.ok(cookie, "a session cookie");
  assert.equal(cookie.httpOnly, true, "HttpOnly");
  assert.equal(cookie.sameSite, "Lax", "SameSite=Lax");
  assert.equal(await page.evaluate(() => document.cookie.includes("faultbook=")), false);

  const alarm = token("LGN");
  await page.fill("#verbatim_alarm", `Bad_ConnectionRejected ${alarm}`);
  await page.fill("#cell", "C03");
  await page.locator('input[name="outcome"][value="fixed"]').check();
  await page.fill("#fix_applied", "Trusted the gateway certificate in KEPServerEX");
  await page.setInputFiles("#photo", path.join(FIXTURES, "cabinet.jpg"));
  await page.getByRole("button", { name: "Send case" }).click();
  await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
  assert.match(await page.locator("pre.verbatim").innerText(), new RegExp(alarm));
  await page.locator(".photos img").first().waitFor();
  const casePath = new URL(page.url()).pathname;
  await shot(page, "phone-case-after-login");

  // The tech finds it; an anonymous visitor neither finds it nor opens it.
  await page.goto(BASE + "/search?q=" + encodeURIComponent(alarm));
  assert.equal(await page.locator(`.hits a[href="${casePath}"]`).count(), 1, "the tech finds the case");
  const anon = await browser.newContext(PHONE);
  const anonPage = await anon.newPage();
  await anonPage.goto(BASE + "/search?q=" + encodeURIComponent(alarm));
  assert.equal(await anonPage.locator(`.hits a[href="${casePath}"]`).count(), 0, "search shows no case to anonymous visitors");
  await anonPage.goto(BASE + casePath);
  assert.equal(new URL(anonPage.url()).pathname, "/login", "the case page asks an anonymous visitor to log in");
  await anon.close();
  await context.close();
});

test("the admin adds a tech and creates a token whose secret is shown once", async () => {
  const context = await browser.newContext(DESKTOP);
  const page = await context.newPage();
  await login(page, ADMIN.user, ADMIN.password, "/admin/users");
  assert.equal(new URL(page.url()).pathname, "/admin/users");

  const name = token("tech");
  const password = newPassword();
  await addUser(page, name, "tech", password);
  let row = rowOf(page, name);
  assert.equal(await row.count(), 1, "the new person is in the table");
  assert.equal(await row.locator("select").inputValue(), "tech");
  assert.match(await row.innerText(), /active/);
  await shot(page, "desktop-admin-users");
  // Still there on a fresh look, and the new tech can log in and reach the case form.
  await page.goto(BASE + "/admin/users");
  row = rowOf(page, name);
  assert.equal(await row.count(), 1, "the new person is stored");
  const theirs = await browser.newContext(PHONE);
  const theirPage = await theirs.newPage();
  await login(theirPage, name, password, "/cases/new");
  assert.equal(new URL(theirPage.url()).pathname, "/cases/new");
  assert.equal(await theirPage.locator("h1").innerText(), "File a case");
  await theirs.close();

  // A token for a script: its secret is on the page once, right after creating it.
  await page.getByRole("link", { name: "Tokens" }).first().click();
  await page.waitForURL(BASE + "/admin/tokens");
  const tokenName = token("mes-line");
  await page.fill("#token-name", tokenName);
  await page.selectOption("#token-role", "tech");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  const shown = page.locator("#new-token");
  await shown.waitFor();
  const secret = (await shown.innerText()).trim();
  assert.match(secret, /^fbt_\S+$/, "the secret starts with fbt_");
  assert.equal((await page.content()).split(secret).length - 1, 1, "the secret is on the page exactly once");
  assert.equal(await rowOf(page, tokenName).count(), 1, "the token is in the table");
  await shot(page, "desktop-admin-token-created");

  // Opening the page again: the token is listed, its secret is gone for good.
  const again = await page.goto(BASE + "/admin/tokens");
  assert.match(again.headers()["cache-control"] ?? "", /no-store/, "the tokens page is never cached");
  assert.equal(await page.locator("#new-token").count(), 0, "no secret shown");
  assert.ok(!(await page.content()).includes(secret), "the secret is nowhere on the page");
  assert.equal(await rowOf(page, tokenName).count(), 1, "the token is still listed");

  // And the secret works for a script.
  const res = await fetch(BASE + "/api/cases?limit=1", { headers: { Authorization: `Bearer ${secret}` } });
  assert.equal(res.status, 200, "the token reads cases");
  const without = await fetch(BASE + "/api/cases?limit=1");
  assert.equal(without.status, 401, "without it, no cases");
  await context.close();
});

test("Log out on the account page ends the session", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await login(page, TECH.user, TECH.password);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account" }).click();
  await page.waitForURL(BASE + "/account");
  assert.equal(await page.locator("h1").innerText(), TECH.user);
  const before = (await context.cookies()).find((c) => c.name === "faultbook");
  assert.ok(before, "logged in with a session cookie");

  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await page.waitForURL(BASE + "/");
  assert.equal((await context.cookies()).find((c) => c.name === "faultbook"), undefined, "the cookie is gone");
  await page.goto(BASE + "/cases");
  const url = new URL(page.url());
  assert.equal(url.pathname, "/login", "/cases asks to log in again");
  assert.equal(url.searchParams.get("next"), "/cases");

  // The server ended the session too: the old cookie, sent again, opens nothing.
  const replay = await fetch(BASE + "/cases", { headers: { Cookie: `faultbook=${before.value}` }, redirect: "manual" });
  assert.equal(replay.status, 303, "the old session cookie is refused");
  assert.match(replay.headers.get("location") ?? "", /^\/login\?next=/);
  await context.close();
});

test("Log out everywhere ends the sessions on the other devices too", async () => {
  const admin = await browser.newContext(DESKTOP);
  const adminPage = await admin.newPage();
  await login(adminPage, ADMIN.user, ADMIN.password, "/admin/users");
  const name = token("roaming");
  const password = newPassword();
  await addUser(adminPage, name, "tech", password);
  await admin.close();

  const phone = await browser.newContext(PHONE);
  const phonePage = await phone.newPage();
  await login(phonePage, name, password, "/cases");
  const desk = await browser.newContext(DESKTOP);
  const deskPage = await desk.newPage();
  await login(deskPage, name, password, "/account");
  const sessions = deskPage.locator("table.grid tbody tr");
  assert.equal(await sessions.count(), 2, "both devices are listed");
  assert.equal(await sessions.filter({ hasText: "(this device)" }).count(), 1);

  await deskPage.getByRole("button", { name: "Log out everywhere" }).click();
  await deskPage.waitForURL((u) => u.pathname === "/login");
  await phonePage.goto(BASE + "/cases");
  assert.equal(new URL(phonePage.url()).pathname, "/login", "the phone is logged out as well");
  await phone.close();
  await desk.close();
});

/** The `x-faultbook-session` mark of the page's cached copy of `url`, or null when none is kept. */
async function cachedMark(page, url) {
  return page.evaluate((u) => caches.match(u).then((res) => (res ? res.headers.get("x-faultbook-session") ?? "" : null)), url);
}

/** Polls `probe` every 100 ms until `done(value)` or `timeoutMs`; returns the last value. */
async function pollUntil(probe, done, timeoutMs) {
  const until = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    value = await probe();
  }
  return value;
}

test("phone: after Log out everywhere on another device, the phone's offline cache no longer shows the plant's case record", async () => {
  const SLUG = "wincc-s7-1500-channel-disconnected";
  const PAGE = `/guides/${SLUG}`;
  const cell = token("CELL");
  const phone = await browser.newContext(PHONE);
  const page = await phone.newPage();
  await login(page, TECH.user, TECH.password, "/account");
  // A case on this guide, filed through the API with the phone's session and its form token.
  const filed = await phone.request.post(BASE + "/api/cases", {
    headers: {
      "Content-Type": "application/json",
      "Idempotency-Key": token("everywhere-"),
      "X-CSRF-Token": await csrfToken(page),
    },
    data: JSON.stringify({
      guide: SLUG,
      verbatim_alarm: "Disconnected",
      cell,
      outcome: "fixed",
      fix_applied: "Bound S7ONLINE to TCPIP.1",
    }),
  });
  assert.equal(filed.status(), 201, await filed.text());

  // The guide opened online under the service worker: it shows the record and is kept, marked
  // as made for a session.
  await page.goto(BASE + PAGE);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
  const record = await page.locator("#cases").innerText();
  assert.match(record, /Fixed 1 of 1 time/, "the tech sees the plant's record");
  assert.ok(record.includes(cell), "with the cell of the case");
  const kept = await pollUntil(() => cachedMark(page, BASE + PAGE), (m) => m !== null, 5000);
  assert.equal(kept, "1", "the guide page is cached, marked as made for a logged-in caller");
  // Control: offline, that cached copy shows the record (so its absence below means something).
  await phone.setOffline(true);
  await page.goto(BASE + PAGE);
  assert.ok((await page.locator("body").innerText()).includes(cell), "offline, the cached guide shows the record");
  await phone.setOffline(false);

  // At the office PC, the same tech logs out everywhere: the phone's session ends too.
  const desk = await browser.newContext(DESKTOP);
  const deskPage = await desk.newPage();
  await login(deskPage, TECH.user, TECH.password, "/account");
  await deskPage.getByRole("button", { name: "Log out everywhere" }).click();
  await deskPage.waitForURL((u) => u.pathname === "/login");
  await desk.close();

  // The phone opens a page online: made for an anonymous caller now, so the service worker
  // forgets the pages kept while logged in.
  const home = await page.goto(BASE + "/");
  assert.equal(home.headers()["x-faultbook-session"], "0", "the phone is no longer logged in");
  const left = await pollUntil(() => cachedMark(page, BASE + PAGE), (m) => m === null, 5000);

  await phone.setOffline(true);
  const res = await page.goto(BASE + PAGE);
  const text = await page.locator("body").innerText();
  await phone.close();
  assert.ok(!text.includes(cell) && !/Fixed \d+ of|All cases for this guide/.test(text),
    `offline, the phone still shows the plant's case record after the session ended elsewhere ` +
    `(its cached guide page, marked ${JSON.stringify(left)}, was not forgotten within 5 s)`);
  assert.equal(left, null, "the guide page kept while logged in is gone from the cache");
  assert.equal(res.status(), 503, "the offline notice, not the page kept while logged in");
  assert.match(text, /You are offline/);
});
