// Plant Wi-Fi drops: a case filed offline is queued on the phone, survives a reload, and is sent
// exactly once when the network is back, even when the send is replayed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { BASE, FIXTURES, PHONE, launch, token } from "./helpers.mjs";

const SLUG = "ignition-opcua-subscription-lost";
let browser;
before(async () => { browser = await launch(); });
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

async function casesWith(alarm) {
  const res = await fetch(`${BASE}/api/cases?guide=${SLUG}&limit=500`);
  const body = await res.json();
  return body.cases.filter((c) => c.verbatim_alarm.includes(alarm));
}

test("offline: queue, reload, back online, exactly one case", async () => {
  const context = await browser.newContext(PHONE);
  let page = await context.newPage();
  const form = `${BASE}/guides/${SLUG}/cases/new`;
  await page.goto(form);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  // Load the form once under the service worker's control so it is cached for offline use.
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();

  await context.setOffline(true);
  const alarm = token("OFF");
  await page.fill("#verbatim_alarm", `Subscription watchdog timer elapsed ${alarm}`);
  await page.fill("#cell", "C12");
  await page.locator('input[name="outcome"][value="workaround"]').check();
  await page.setInputFiles("#photo", path.join(FIXTURES, "cabinet.jpg"));
  await page.getByRole("button", { name: "Send case" }).click();
  await page.locator("[data-send-state]").filter({ hasText: "Queued" }).waitFor();
  assert.equal((await casesWith(alarm)).length, 0, "nothing reached the server yet");

  // Closing the page and opening it again (offline, served by the service worker) keeps the queue.
  await page.close();
  page = await context.newPage();
  await page.goto(form);
  await page.locator("#outbox-status").filter({ hasText: "1 case is saved on this device" }).waitFor();
  // Keep a copy in the page (photos are Blobs) to replay the send later.
  const queued = await page.evaluate(() => window.faultbookOutbox.all().then((items) => {
    window.replayCopy = items[0];
    return items.map((i) => ({ photos: i.photos.length, size: i.photos[0]?.blob.size }));
  }));
  assert.equal(queued.length, 1);
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
