// Recurring faults and an asset's history at phone size (390 x 844): the list a supervisor
// reads (the group, its fixes tried, whether one held), the asset's cases as cards, and the
// diff since the last good run. Each page fits the width and passes axe. Screenshots for the
// README go to docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BASE, PHONE, TECH, assertAccessible, csrfToken, fitsWidth, launch, login, token } from "./helpers.mjs";

const GUIDE = "ignition-opcua-bad-connectionrejected-kepware";
const DOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");
const PHONE_DOC = { ...PHONE, deviceScaleFactor: 1 };

let browser;
let alarm;
let asset;
before(async () => {
  browser = await launch();
  // Three cases of one alarm on one new cell and asset (a name with a slash and a space),
  // filed through the API with the tech's session: a good run, then two after a change.
  const tok = token("h");
  alarm = `Bad_ConnectionRejected ${tok}`;
  asset = `Line 9/PLC ${tok}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, TECH.user, TECH.password, `/guides/${GUIDE}/cases/new`);
  const csrf = await csrfToken(page);
  const runs = [
    { outcome: "fixed", firmware_revision: "33.011", fix_applied: "Re-trusted the server certificate",
      parameter_set: "Kp=1.2\nKi=0.4\nKd=0\nramp=5" },
    { outcome: "not_fixed", firmware_revision: "33.015", fix_applied: "Restarted the KEPServerEX runtime",
      parameter_set: "Kp=1.2\nKi=0.9\nKd=0\nramp=5" },
    { outcome: "not_fixed", firmware_revision: "33.015", fix_applied: "Restarted the KEPServerEX runtime",
      parameter_set: "Kp=1.2\nKi=0.9\nKd=0\nramp=8" },
  ];
  for (const [i, run] of runs.entries()) {
    const res = await context.request.post(BASE + "/api/cases", {
      headers: {
        "Content-Type": "application/json",
        "Idempotency-Key": `history-${tok}-${i}`,
        "X-CSRF-Token": csrf,
      },
      data: JSON.stringify({
        guide: GUIDE, verbatim_alarm: alarm, line: "Line 9", cell: `Cell ${tok}`, asset,
        software_version: "Ignition 8.1.26", ...run,
      }),
    });
    assert.equal(res.status(), 201, await res.text());
  }
  await context.close();
});
after(async () => { await browser?.close(); });

async function techPage() {
  const context = await browser.newContext({ ...PHONE_DOC, bypassCSP: true });
  const page = await context.newPage();
  await login(page, TECH.user, TECH.password);
  return { context, page };
}

test("recurring faults: the group, its fixes and whether one held, on a phone", async () => {
  const { context, page } = await techPage();
  const res = await page.goto(BASE + "/cases/recurring");
  assert.equal(res.status(), 200);
  assert.match(await page.locator("h1").innerText(), /Recurring faults/);
  const group = page.locator("section.recurgroup", { hasText: alarm });
  await group.waitFor();
  assert.match(await group.locator("h2").innerText(), /3 times/);
  assert.match(await group.locator("h2").innerText(), new RegExp(`Line 9 / Cell ${alarm.split(" ")[1]}`));
  assert.match(await group.innerText(), /A fix held/);
  const fixes = await group.locator("ul.fixes > li").allInnerTexts();
  assert.match(fixes[0], /Restarted the KEPServerEX runtime\s+2 times: Not fixed 2/);
  assert.match(fixes[1], /Re-trusted the server certificate\s+1 time: Fixed 1 · held/);
  assert.equal(await group.locator("ul.caselist a").count(), 3, "each case is linked");
  await fitsWidth(page, "recurring faults");
  await group.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(DOCS, "floor-recurring.png") });
  await assertAccessible(page, "recurring faults");

  // The guide page flags where its fault recurs, linked to the list of that guide.
  await page.goto(`${BASE}/guides/${GUIDE}`);
  const flag = page.locator(".recurs");
  await flag.waitFor();
  assert.match(await flag.innerText(), new RegExp(`Line 9 / Cell ${alarm.split(" ")[1]} — 3 times in 30 days`));
  await fitsWidth(page, "guide with a recurrence");
  await context.close();
});

test("asset history and the diff since the last good run, on a phone", async () => {
  const { context, page } = await techPage();
  // The case page links the asset to its history; the name has a slash and a space.
  await page.goto(BASE + "/cases/recurring");
  await page.locator("section.recurgroup", { hasText: alarm }).getByRole("link", { name: `history of ${asset}` }).click();
  await page.waitForURL((url) => url.pathname.startsWith("/assets/"));
  assert.equal(decodeURIComponent(new URL(page.url()).pathname), `/assets/${asset}`);
  assert.match(await page.locator("h1").innerText(), /3 cases/);
  const rows = page.locator("table.grid.stack tbody tr");
  assert.equal(await rows.count(), 3);
  assert.match(await rows.nth(0).innerText(), /Changed: Parameter set/);
  assert.match(await rows.nth(1).innerText(), /Changed: Firmware revision, Parameter set/);
  assert.match(await rows.nth(2).innerText(), /first case/);
  await fitsWidth(page, "asset history");
  await page.screenshot({ path: path.join(DOCS, "floor-asset-history.png") });
  await assertAccessible(page, "asset history");

  await page.getByRole("link", { name: "What changed since the last good run" }).click();
  await page.waitForURL(/\/diff$/);
  assert.match(await page.locator(".notice-info").innerText(), /last good run/);
  assert.match(await page.locator(".notice-error").innerText(), /Firmware revision, Parameter set/);
  const diff = page.locator("pre.diff");
  assert.deepEqual(await diff.locator("del").allInnerTexts(), ["- Ki=0.4", "- ramp=5"]);
  assert.deepEqual(await diff.locator("ins").allInnerTexts(), ["+ Ki=0.9", "+ ramp=8"]);
  assert.match(await page.locator("#f-firmware_revision + p").innerText(), /33\.011\s*→\s*33\.015/);
  await fitsWidth(page, "asset diff");
  await page.evaluate(() => document.querySelector("#f-firmware_revision").scrollIntoView());
  await page.screenshot({ path: path.join(DOCS, "floor-asset-diff.png") });
  await assertAccessible(page, "asset diff");
  await context.close();
});
