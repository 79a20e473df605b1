// What a case brings back, at phone size (390 x 844): "Seen before" under the alarm box of the
// case form (this cell's earlier case, its fix and outcome, one tap to open), and the guide's
// Verify steps as checkboxes that survive a reload, show on the case page and are tallied on
// the guide. Screenshots for the README go to docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BASE, PHONE, TECH, assertAccessible, fitsWidth, launch, loginQuietly, token } from "./helpers.mjs";

const GUIDE = "/guides/ignition-opcua-subscription-lost";
const DOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");
const PHONE_DOC = { ...PHONE, deviceScaleFactor: 1 };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function techPage() {
  const context = await browser.newContext({ ...PHONE_DOC, bypassCSP: true });
  await loginQuietly(context, TECH.user, TECH.password);
  return { context, page: await context.newPage() };
}


test("case form: the guide's Verify steps are boxes that survive a reload and reach the case and the guide", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + GUIDE + "/cases/new");
  const boxes = page.locator('input[name="verify_step"]');
  assert.equal(await boxes.count(), 4);
  const first = page.getByRole("checkbox", { name: /View Details > Client Diagnostics/ });
  await first.check();
  await page.getByRole("checkbox", { name: /Bad_TooManySubscriptions/ }).check();
  const box = await first.boundingBox();
  assert.ok(box.height >= 24 && box.width >= 24, `a box a gloved finger hits (${box.width} x ${box.height})`);
  await fitsWidth(page, "form with the checklist");

  // Ticks are part of the draft kept on the phone.
  await page.fill("#verbatim_alarm", "Subscription watchdog timer elapsed " + token("v"));
  await page.reload();
  await page.locator("[data-draft-note]").waitFor();
  assert.equal(await first.isChecked(), true, "step 1 is still ticked after a reload");
  assert.equal(await page.getByRole("checkbox", { name: /No new/ }).isChecked(), false);
  await page.locator('input[name="outcome"][value="fixed"]').check();
  await page.getByRole("button", { name: "Send case" }).click();
  await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);

  const list = page.getByRole("list", { name: "The guide's Verify steps on this case" });
  await list.waitFor();
  const items = await list.locator("li").allInnerTexts();
  assert.equal(items.length, 4);
  assert.match(items[0], /^✓\s*Confirmed:\s*Step 1\. View Details/);
  assert.match(items[1], /^–\s*Not confirmed:\s*Step 2\./);
  assert.match(items[2], /^✓/);
  await assertAccessible(page, "case page with its checklist");

  await page.goto(BASE + GUIDE + "#verify-record");
  const tally = page.locator(".verifytally");
  await tally.waitFor();
  assert.match(await tally.innerText(), /Step 1: confirmed on \d+ of \d+ case/);
  await context.close();
});

test("case form: 'Seen before' shows this cell's earlier case with its fix, one tap to open", async () => {
  const { context, page } = await techPage();
  const drive = token("Drive");
  const fix = "Cleaned the fan filter " + token("f");
  // The first sighting, on cell C7.
  await page.goto(BASE + GUIDE + "/cases/new");
  await page.fill("#verbatim_alarm", `${drive} overtemperature`);
  await page.fill("#cell", "C7");
  await page.fill("#fix_applied", fix);
  await page.locator('input[name="outcome"][value="fixed"]').check();
  await page.getByRole("button", { name: "Send case" }).click();
  await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
  const firstCase = new URL(page.url()).pathname;

  // The same fault again, pasted as a log line with another time and case.
  await page.goto(BASE + GUIDE + "/cases/new");
  const seen = page.locator("[data-similar]");
  assert.equal(await seen.isVisible(), false, "nothing before an alarm is typed");
  await page.fill("#cell", "C7");
  await page.fill("#verbatim_alarm", `2026-12-01 02:14:07 [ERROR] ${drive.toUpperCase()} OVERTEMPERATURE`);
  await seen.waitFor({ state: "visible" });
  const link = seen.getByRole("link").first();
  const text = await link.innerText();
  assert.match(text, /Fixed/);
  assert.match(text, /C7/);
  assert.match(text, /this cell/);
  assert.ok(text.includes(fix), `the fix is shown: ${text}`);
  const target = await link.boundingBox();
  assert.ok(target.height >= 44, `one tap: the link is ${target.height} px tall`);
  await fitsWidth(page, "form with Seen before");
  await assertAccessible(page, "case form with Seen before");
  await page.locator("#verbatim_alarm").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(DOCS, "floor-form-seen-before.png") });

  // Another alarm: the box goes away.
  await page.fill("#verbatim_alarm", `${drive} undervoltage`);
  await seen.waitFor({ state: "hidden" });
  await page.fill("#verbatim_alarm", `${drive} overtemperature`);
  await seen.waitFor({ state: "visible" });
  await seen.getByRole("link").first().click();
  await page.waitForURL((url) => url.pathname === firstCase);
  await context.close();
});

test("case form: no 'Seen before' lookup for someone who may not read cases", async () => {
  const context = await browser.newContext({ ...PHONE_DOC });
  const page = await context.newPage();
  const res = await page.goto(BASE + "/api/cases/similar?alarm=Bad_Timeout");
  assert.ok([401, 403].includes(res.status()), `anonymous: ${res.status()}`);
  assert.doesNotMatch(await res.text(), /fix_applied/);
  await context.close();
});
