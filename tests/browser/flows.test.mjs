// The 2 a.m. flow, at phone size and at desktop size: log in as the tech, paste a log line, land
// on the right guide, file a case with a photo, find the case again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { BASE, FIXTURES, PHONE, DESKTOP, TECH, launch, login, shot, token } from "./helpers.mjs";

const LOG_LINE =
  "2026-11-20 02:14:07,331 WARN [milo-netty-event-loop-3] c.i.i.g.o.c.c.OpcUaConnection: connect to opc.tcp://kepsrv01:49320 failed: UaException: status=Bad_ConnectionRejected";
const GUIDE = "/guides/ignition-opcua-bad-connectionrejected-kepware";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [size, options] of [["phone", PHONE], ["desktop", DESKTOP]]) {
  test(`${size}: log in, paste a log line, open the guide, file a case with a photo, find it`, async () => {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    // Cases are private: filing one takes a tech's account.
    await login(page, TECH.user, TECH.password);
    await page.goto(BASE + "/");
    const box = page.locator("#q");
    await assert.doesNotReject(box.waitFor());
    assert.equal(await page.evaluate(() => document.activeElement?.id), "q", "search box is focused");
    await shot(page, `${size}-home`);

    // Search as you type shows the right guide while typing.
    await box.fill(LOG_LINE);
    const live = page.locator('#q-suggestions [role="option"]').first();
    await live.waitFor();
    assert.match(await live.getAttribute("data-href"), /\/search\?q=|ignition-opcua-bad-connectionrejected-kepware/);
    const liveGuide = page.locator(`#q-suggestions [role="option"][data-href="${GUIDE}"]`);
    await liveGuide.waitFor();

    await box.press("Enter");
    await page.waitForURL(/\/search\?q=/);
    const first = page.locator("[data-best-match] .title");
    assert.equal(await first.getAttribute("href"), GUIDE, "the right guide is the best match");
    assert.ok(await page.locator(".statuscard").isVisible(), "status code card");
    await shot(page, `${size}-search`);

    await first.click();
    await page.waitForURL(BASE + GUIDE);
    for (const id of ["symptom", "cause", "diagnose", "fix", "verify", "rollback"]) {
      assert.equal(await page.locator(`h2#${id}`).count(), 1, `#${id}`);
    }
    // No horizontal scrolling on the phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await shot(page, `${size}-guide`);

    await page.getByRole("link", { name: "File a case" }).first().click();
    await page.waitForURL(/\/cases\/new/);
    const alarm = token("BRW");
    await page.fill("#verbatim_alarm", `Bad_ConnectionRejected ${alarm}`);
    await page.fill("#cell", "C07");
    await page.fill("#firmware_revision", "33.011");
    await page.locator('input[name="outcome"][value="fixed"]').check();
    await page.fill("#fix_applied", "Opened TCP 49320 on the gateway firewall");
    await page.setInputFiles("#photo", path.join(FIXTURES, "cabinet.jpg"));
    await shot(page, `${size}-form`);
    await page.getByRole("button", { name: "Send case" }).click();
    await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
    const thumb = page.locator(".photos img").first();
    await thumb.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector(".photos img");
      return img && img.complete && img.naturalWidth > 0;
    });
    assert.match(await page.locator("pre.verbatim").innerText(), new RegExp(alarm));
    await shot(page, `${size}-case`);
    const caseUrl = page.url();

    // The draft kept on the phone is gone once the server accepted the case.
    const drafts = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("case-draft:")));
    assert.deepEqual(drafts, []);

    await page.goto(BASE + "/search?q=" + encodeURIComponent(alarm));
    const hit = page.locator(`.hits a[href="${new URL(caseUrl).pathname}"]`);
    assert.equal(await hit.count(), 1, "the new case is found by its verbatim alarm");
    await context.close();
  });
}

test("what was typed survives a reload before sending", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await login(page, TECH.user, TECH.password, GUIDE + "/cases/new");
  assert.equal(new URL(page.url()).pathname, GUIDE + "/cases/new", "back on the form after logging in");
  const key = await page.locator('input[name="idempotency_key"]').inputValue();
  await page.fill("#verbatim_alarm", "typed before the Wi-Fi dropped");
  await page.fill("#asset", "IGN-GW-02");
  await page.locator('input[name="outcome"][value="workaround"]').check();
  await page.reload();
  assert.equal(await page.inputValue("#verbatim_alarm"), "typed before the Wi-Fi dropped");
  assert.equal(await page.inputValue("#asset"), "IGN-GW-02");
  assert.ok(await page.locator('input[name="outcome"][value="workaround"]').isChecked());
  assert.equal(await page.locator('input[name="idempotency_key"]').inputValue(), key, "same key after a reload");
  await context.close();
});

test("copy-link buttons put each format on the clipboard", async () => {
  const context = await browser.newContext(DESKTOP);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  const page = await context.newPage();
  await page.goto(BASE + GUIDE);
  const title = await page.locator("h1").innerText();
  const url = new URL(GUIDE, BASE).href;
  const menu = page.locator(".guidehead .copylink");
  // By keyboard: focus the summary, open it with Enter.
  await menu.locator("summary").focus();
  await page.keyboard.press("Enter");
  const expected = {
    url,
    markdown: `[${title}](${url})`,
    mediawiki: `[${url} ${title}]`,
    html: `<a href="${url}">${title}</a>`,
  };
  for (const [format, text] of Object.entries(expected)) {
    await menu.locator(`button[data-format="${format}"]`).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text, format);
  }
  // A section's own link.
  const fixMenu = page.locator(".sechead:has(h2#fix) .copylink");
  await fixMenu.locator("summary").click();
  await fixMenu.locator('button[data-format="url"]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url + "#fix");
  await context.close();
});
