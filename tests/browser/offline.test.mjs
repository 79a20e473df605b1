// Plant Wi-Fi drops: a case filed offline is queued on the phone, survives a reload, and is sent
// exactly once when the network is back, even when the send is replayed, and even when the
// session ended meanwhile (it then waits for the next login). The tech logs in first, in the same
// browser context: its session cookie carries the queued send. What the phone keeps for offline
// use holds no private page after logging out, and never the login page in place of a form.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { BASE, FIXTURES, PHONE, DESKTOP, TECH, ADMIN, launch, login, loginQuietly, token } from "./helpers.mjs";

const SLUG = "ignition-opcua-subscription-lost";
const FORM = `/guides/${SLUG}/cases/new`;
let browser;
/** The admin's context, which looks at what reached the server (whatever the phone's session). */
let reader;
before(async () => {
  browser = await launch();
  reader = await browser.newContext();
  await loginQuietly(reader, ADMIN.user, ADMIN.password);
});
after(async () => { await browser?.close(); });

/** Polls the page's outbox until it is empty (waitForFunction does not await promises). */
async function outboxDrained(page, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const n = await page.evaluate(() => window.faultbookOutbox.all().then((items) => items.length));
    if (n === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail("the outbox was not sent");
}

/**
 * The server's cases carrying this alarm. The request goes from Node, not from the page, so it
 * reaches the server while the page is offline.
 */
async function casesWith(alarm) {
  const res = await reader.request.get(`${BASE}/api/cases?guide=${SLUG}&limit=500`);
  assert.equal(res.status(), 200, `GET /api/cases: ${await res.text()}`);
  const body = await res.json();
  return body.cases.filter((c) => c.verbatim_alarm.includes(alarm));
}

/** Logs the tech in on the case form and loads it under the service worker, cached for offline use. */
async function formReadyOffline(page) {
  await login(page, TECH.user, TECH.password, FORM);
  assert.equal(page.url(), BASE + FORM, "logged in, back on the form");
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
}

/** Fills the case form and sends it while the context is offline: it is queued. */
async function fileOffline(page, alarm) {
  await page.fill("#verbatim_alarm", `Subscription watchdog timer elapsed ${alarm}`);
  await page.fill("#cell", "C12");
  await page.locator('input[name="outcome"][value="workaround"]').check();
  await page.setInputFiles("#photo", path.join(FIXTURES, "cabinet.jpg"));
  await page.getByRole("button", { name: "Send case" }).click();
  await page.locator("[data-send-state]").filter({ hasText: "Queued" }).waitFor();
}

test("offline: queue, reload, back online, exactly one case", async () => {
  const context = await browser.newContext(PHONE);
  let page = await context.newPage();
  await formReadyOffline(page);

  await context.setOffline(true);
  const alarm = token("OFF");
  await fileOffline(page, alarm);
  assert.equal((await casesWith(alarm)).length, 0, "nothing reached the server yet");

  // Closing the page and opening it again (offline, served by the service worker) keeps the queue.
  await page.close();
  page = await context.newPage();
  await page.goto(BASE + FORM);
  await page.locator("#outbox-status").filter({ hasText: "1 case is saved on this device" }).waitFor();
  // Keep a copy in the page (photos are Blobs) to replay the send later.
  const queued = await page.evaluate(() => window.faultbookOutbox.all().then((items) => {
    window.replayCopy = items[0];
    return items.map((i) => ({ photos: i.photos.length, size: i.photos[0]?.blob.size, first: i.fields[0]?.[0] }));
  }));
  assert.equal(queued.length, 1);
  // The server reads the form token from the first part of a multipart body only.
  assert.equal(queued[0].first, "csrf_token", "the queued case carries the form token first");
  assert.equal(queued[0].photos, 1, "the photo is queued too");
  assert.ok(queued[0].size > 1000);

  await context.setOffline(false);
  await outboxDrained(page);
  let cases = await casesWith(alarm);
  assert.equal(cases.length, 1, "sent once");
  assert.equal(cases[0].photos.length, 1, "with its photo");

  // A send that was interrupted after the server stored the case is replayed: still one case.
  await page.evaluate(() => window.faultbookOutbox.put(window.replayCopy));
  await page.evaluate(() => window.faultbookOutbox.send());
  await outboxDrained(page);
  cases = await casesWith(alarm);
  assert.equal(cases.length, 1, "the replay returned the first case");
  await context.close();
});

test("offline: a case queued when the session then ended waits for the next login, then is sent once", async () => {
  const phone = await browser.newContext(PHONE);
  const page = await phone.newPage();
  await formReadyOffline(page);
  await phone.setOffline(true);
  const alarm = token("RELOG");
  await fileOffline(page, alarm);

  // Meanwhile, at the office PC, the tech logs out everywhere: the phone's session ends too.
  const desk = await browser.newContext(DESKTOP);
  const deskPage = await desk.newPage();
  await login(deskPage, TECH.user, TECH.password, "/account");
  await deskPage.getByRole("button", { name: "Log out everywhere" }).click();
  await deskPage.waitForURL((u) => u.pathname === "/login");
  await desk.close();

  // Back online: the send is refused for want of a login, and the case stays on the phone.
  await phone.setOffline(false);
  await page.locator("#outbox-status").filter({ hasText: "Log in again" }).waitFor();
  assert.match(await page.locator("#outbox-status").innerText(), /1 case is saved on this device/);
  assert.equal(await page.evaluate(() => window.faultbookOutbox.all().then((i) => i.filter((x) => !x.failed).length)), 1,
    "the case is kept, not marked refused");
  assert.equal((await casesWith(alarm)).length, 0, "nothing filed without a login");

  // Logging in again sends it, with the new session's form token.
  await login(page, TECH.user, TECH.password, FORM);
  await outboxDrained(page);
  const cases = await casesWith(alarm);
  assert.equal(cases.length, 1, "sent once after logging in again");
  assert.equal(cases[0].photos.length, 1, "with its photo");
  await page.waitForFunction(() => {
    const banner = document.getElementById("outbox-status");
    return !banner || banner.hidden;
  }, null, { timeout: 5000 });
  await phone.close();
});

test("offline: after Log out, the phone no longer shows the plant's cases from its cache", async () => {
  const GUIDE = `/guides/${SLUG}`;
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await login(page, TECH.user, TECH.password, GUIDE);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
  assert.doesNotMatch(await page.locator("#cases").innerText(), /visible after you log in/, "the tech sees the plant's record");
  await page.goto(BASE + "/account");
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await page.waitForURL(BASE + "/");
  await context.setOffline(true);
  const res = await page.goto(BASE + GUIDE);
  const text = await page.locator("body").innerText();
  await context.close();
  assert.doesNotMatch(text, /Fixed \d+ of|All cases for this guide|No cases filed yet/, "a logged-out phone shows no case record offline");
  assert.equal(res.status(), 503, "the page kept while logged in is gone");
  assert.match(text, /You are offline/);
});

test("offline: a phone first used anonymously never keeps the login page as the case form", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(BASE + "/");
  // The service worker installs (and fetches its shell, /cases/new included) before any login.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await login(page, TECH.user, TECH.password);

  await context.setOffline(true);
  let res = await page.goto(BASE + "/cases/new");
  assert.equal(res.status(), 503, "not a browser error page");
  assert.match(await page.locator("body").innerText(), /You are offline and this page was not saved on this device yet/);

  // Opened once logged in, the form is kept for the next time the Wi-Fi drops.
  await context.setOffline(false);
  await page.goto(BASE + "/cases/new");
  assert.equal(await page.locator("h1").innerText(), "File a case");
  await context.setOffline(true);
  res = await page.goto(BASE + "/cases/new");
  assert.equal(res.status(), 200);
  assert.equal(await page.locator("h1").innerText(), "File a case", "the form opens offline");
  await context.close();
});
