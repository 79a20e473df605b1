// Search on a phone (390 x 844): the best match for a known alarm, a plain "no guide yet" with a
// file-a-case link for a fault no guide covers, the spelling note in the guides' own words,
// codes and identifiers typed half-way and chosen with the arrow keys, and search with no
// network over what the phone saved. Screenshots go to docs/screenshots/ for the README.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BASE, PHONE, TECH, assertAccessible, launch, login } from "./helpers.mjs";

const KEPWARE = "ignition-opcua-bad-connectionrejected-kepware";
const DOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");
mkdirSync(DOCS, { recursive: true });

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function docShot(page, name) {
  await page.screenshot({ path: path.join(DOCS, `${name}.png`), fullPage: false });
}

async function phone() {
  return browser.newContext({ ...PHONE, bypassCSP: true });
}

const search = (q) => BASE + "/search?" + new URLSearchParams({ q }).toString();

test("a known alarm: its guide is marked the best match", async () => {
  const context = await phone();
  const page = await context.newPage();
  await page.goto(search("Bad_ConnectionRejected"));
  const best = page.locator("[data-best-match]");
  await best.waitFor();
  assert.match(await best.innerText(), /Best match/i);
  assert.equal(await best.locator("a.title").getAttribute("href"), `/guides/${KEPWARE}`);
  assert.equal(await page.getByText("No guide yet").count(), 0);
  await docShot(page, "phone-search-best-match");
  await assertAccessible(page, "search with a best match");

  // A pasted log line: one best match, the guides that merely share words folded away.
  const line = "2026-11-20 02:14:07,331 WARN [milo-netty-event-loop-3] c.i.i.g.o.c.c.OpcUaConnection: connect to opc.tcp://kepsrv01:49320 failed: UaException: status=Bad_ConnectionRejected";
  await page.goto(search(line));
  assert.equal(await page.locator("[data-best-match] a.title").getAttribute("href"), `/guides/${KEPWARE}`);
  const folded = page.locator("details.mentions");
  assert.equal(await folded.count(), 1, "other guides are folded");
  assert.equal(await folded.evaluate((d) => d.open), false, "folded until opened");
  assert.equal(await page.getByText("netti").count(), 0, "no tokenizer fragments on the page");
  await context.close();
});

test("a fault no guide covers: 'no guide yet' and a file-a-case link carrying the query", async () => {
  const context = await phone();
  const page = await context.newPage();
  const q = "drive undervoltage fault";
  await page.goto(search(q));
  await page.getByRole("heading", { name: "No guide yet" }).waitFor();
  assert.equal(await page.locator("[data-best-match]").count(), 0, "no best match");
  const link = page.getByRole("link", { name: "File a case", exact: true });
  assert.equal(await link.getAttribute("href"), "/cases/new?alarm=drive+undervoltage+fault");
  // Guides that share a word are folded under "also mentions these words", not listed as answers.
  const folded = page.locator("details.mentions");
  await folded.locator("summary").click();
  assert.match(await folded.locator("summary").innerText(), /Also mentions these words/);
  await docShot(page, "phone-search-no-guide");
  await assertAccessible(page, "search with no guide");

  // Filing from there opens the case form with the fault already in it.
  await login(page, TECH.user, TECH.password, "/search?" + new URLSearchParams({ q }).toString());
  await page.getByRole("link", { name: "File a case", exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/cases/new");
  assert.equal(await page.locator("#verbatim_alarm").inputValue(), q);
  await context.close();
});

test("the spelling note shows the corrected words, never above 'no guide yet'", async () => {
  const context = await phone();
  const page = await context.newPage();
  await page.goto(search("subscripton watchdgo timer"));
  const note = page.locator("[data-spelling]");
  assert.equal((await note.innerText()).trim(), "Showing results for subscription watchdog timer");
  assert.equal(await page.locator("main a.title").first().getAttribute("href"), "/guides/ignition-opcua-subscription-lost");
  await docShot(page, "phone-search-spelling");

  await page.goto(search("conveyer beltt misalignmnt"));
  await page.getByRole("heading", { name: "No guide yet" }).waitFor();
  assert.equal(await page.locator("[data-spelling]").count(), 0, "no spelling note above 'no guide yet'");
  await context.close();
});

/** Types into the home page's search box like a person, then waits for the suggestions. */
async function typeAndWait(page, text, first) {
  const box = page.getByRole("combobox");
  await box.fill("");
  await box.pressSequentially(text, { delay: 40 });
  await page.locator('#q-suggestions [role="option"]').filter({ hasText: first }).first().waitFor();
  return box;
}

for (const [typed, title] of [
  ["0x80AC", "Ignition OPC UA connection to KEPServerEX rejected"],
  ["Bad_Conn", "Ignition OPC UA connection to KEPServerEX rejected"],
]) {
  test(`typing ${typed}: the right guide first, chosen with the arrow keys and Enter`, async () => {
    const context = await phone();
    const page = await context.newPage();
    await page.goto(BASE + "/");
    const box = await typeAndWait(page, typed, title);
    assert.equal(await box.getAttribute("aria-expanded"), "true");
    const options = page.locator('#q-suggestions [role="option"]');
    const first = await options.first().innerText();
    assert.ok(first.includes(title), `first suggestion for ${typed}: ${first}`);

    await page.keyboard.press("ArrowDown");
    const activeId = await box.getAttribute("aria-activedescendant");
    assert.equal(activeId, await options.first().getAttribute("id"));
    assert.equal(await options.first().getAttribute("aria-selected"), "true");
    if ((await options.count()) > 1) {
      await page.keyboard.press("ArrowDown");
      assert.equal(await options.nth(1).getAttribute("aria-selected"), "true");
      await page.keyboard.press("ArrowUp");
    }
    assert.equal(await options.first().getAttribute("aria-selected"), "true");
    if (typed === "0x80AC") {
      await docShot(page, "phone-search-typing");
      await assertAccessible(page, "suggestions open");
    }
    await page.keyboard.press("Escape");
    assert.equal(await box.getAttribute("aria-expanded"), "false", "Escape closes the list");

    await page.keyboard.press("ArrowDown");
    assert.equal(await box.getAttribute("aria-expanded"), "true", "ArrowDown opens it again");
    await Promise.all([
      page.waitForURL((url) => url.pathname === `/guides/${KEPWARE}`),
      page.keyboard.press("Enter"),
    ]);
    await context.close();
  });
}

/** Polls until the service worker kept `path` (waitForFunction does not await promises). */
async function kept(page, path, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await page.evaluate((p) => caches.match(p).then((r) => !!r), path)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the service worker did not keep ${path}`);
}

test("offline: search runs on the phone over the saved guides and the status codes", async () => {
  const context = await phone();
  const page = await context.newPage();
  await page.goto(BASE + "/");
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  // The tech opened one guide while the network was there.
  await page.goto(BASE + `/guides/${KEPWARE}`);
  await kept(page, `/api/guides/${KEPWARE}`);
  await kept(page, "/search");
  await kept(page, "/api/status-codes");
  await page.goto(BASE + "/");

  await context.setOffline(true);
  await page.goto(search("Bad_ConnectionRejected"));
  const notice = page.locator("[data-offline-notice]");
  await notice.waitFor();
  assert.match(await notice.innerText(), /You are offline/);
  assert.match(await notice.innerText(), /Searching 1 guide saved on this phone and the OPC UA status codes/);
  assert.match(await page.locator(".statuscard").innerText(), /Bad_ConnectionRejected[\s\S]*0x80AC0000/);
  assert.equal(await page.locator("[data-best-match] a.title").getAttribute("href"), `/guides/${KEPWARE}`);
  await docShot(page, "phone-search-offline");
  await assertAccessible(page, "offline search");

  // A code no saved guide names is still explained from the table.
  await page.goto(search("0x80130000"));
  await notice.waitFor();
  assert.match(await page.locator(".statuscard").innerText(), /Bad_SecurityChecksFailed/);

  // A fault nothing saved covers: said plainly, with the way to file it.
  await page.goto(search("conveyor belt misalignment"));
  await page.getByRole("heading", { name: "No guide yet on this phone" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "File a case", exact: true }).getAttribute("href"),
    "/cases/new?alarm=conveyor+belt+misalignment");

  // Typing offline suggests from the phone too.
  await page.goto(BASE + "/");
  await typeAndWait(page, "0x80AC", "Ignition OPC UA connection to KEPServerEX rejected");
  assert.match(await page.locator("[data-live-status]").innerText(), /Offline: searching 1 guide saved on this phone/);
  await context.close();
});
