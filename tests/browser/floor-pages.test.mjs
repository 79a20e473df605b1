// The floor pages at phone size (390 x 844): the case form that remembers and keeps photos, a
// tech's own additions to their case, the case page (alarm box, local times, outcome badge,
// photo viewer), the case list (text search, guide picker), the guide page (record at the top,
// sticky actions, one copy menu, contents beside the text on a desktop) and one visual system
// (buttons, notices, tables that fit a phone, token copy, labels). Screenshots for the README
// go to docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BASE, FIXTURES, PHONE, DESKTOP, TECH, ADMIN, assertAccessible, fitsWidth, launch, login, loginQuietly, token,
} from "./helpers.mjs";

const GUIDE = "/guides/ignition-opcua-bad-connectionrejected-kepware";
const PHOTO = path.join(FIXTURES, "cabinet.jpg");
const DOCS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");
/** Phone size at scale 1 for the screenshots kept in the repository (small files). */
const PHONE_DOC = { ...PHONE, deviceScaleFactor: 1 };

async function docShot(page, name, fullPage = false) {
  await page.screenshot({ path: path.join(DOCS, `${name}.png`), fullPage });
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function techPage(opts = PHONE_DOC) {
  const context = await browser.newContext({ ...opts, bypassCSP: true });
  await loginQuietly(context, TECH.user, TECH.password);
  return { context, page: await context.newPage() };
}


/** Sends the case form and waits for the case page. */
async function sendCase(page) {
  await page.getByRole("button", { name: "Send case" }).click();
  await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
}

test("case form: alarm from the link, when is now, big Add photo near the top", async () => {
  const { context, page } = await techPage();
  const alarm = "Bad_ConnectionRejected " + token("q");
  await page.goto(BASE + "/cases/new?alarm=" + encodeURIComponent(alarm));
  assert.equal(await page.inputValue("#verbatim_alarm"), alarm);
  const when = await page.inputValue("#alarm_at");
  const phoneNow = await page.evaluate(() => Date.now());
  assert.ok(when, "when is filled");
  assert.ok(Math.abs(new Date(when).getTime() - phoneNow) < 3 * 60 * 1000, `${when} is now on the phone`);
  const button = page.locator("[data-photo-button]");
  const box = await button.boundingBox();
  assert.ok(box.y + box.height < 844, `Add photo is on the first screen (y ${box.y})`);
  assert.ok(box.height >= 48 && box.width > 300, `Add photo is large (${box.width} x ${box.height})`);
  // The alarm also arrives from a guide reached by /alarm/.
  await page.goto(BASE + "/alarm/0x80AC0000");
  await page.locator(".stickybar").getByRole("link", { name: "File a case" }).click();
  await page.waitForURL(/\/cases\/new/);
  assert.equal(await page.inputValue("#verbatim_alarm"), "0x80AC0000");
  await docShot(page, "floor-form-top");
  await context.close();
});

test("case form: photos stay attached when the server sends the form back", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + GUIDE + "/cases/new");
  const alarm = "Bad_ConnectionRejected " + token("photo");
  await page.fill("#verbatim_alarm", alarm);
  await page.locator('input[name="outcome"][value="fixed"]').check();
  await page.setInputFiles("#photo", PHOTO);
  await page.locator("[data-photo-list] img").waitFor();
  // A value the server refuses (the browser's own check is bypassed to reach the server).
  await page.evaluate(() => document.querySelectorAll("[required]").forEach((el) => el.removeAttribute("required")));
  await page.fill("#part_count", "-3");
  await page.getByRole("button", { name: "Send case" }).click();
  await page.locator("#form-errors").waitFor();
  assert.match(await page.locator("#form-errors").innerText(), /photo is still attached/);
  assert.equal(await page.locator("#photo").evaluate((el) => el.files.length), 1, "the file input holds the photo again");
  assert.equal(await page.locator("[data-photo-list] img").count(), 1, "and shows it");
  await docShot(page, "floor-form-error-keeps-photo");
  await page.fill("#part_count", "3");
  await sendCase(page);
  assert.equal(await page.locator(".photos img").count(), 1, "the case has the photo");
  assert.equal(await page.locator("pre.alarmbox").innerText(), alarm);
  await context.close();
});

test("case form: site, line and cell are remembered on the phone", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + GUIDE + "/cases/new");
  const line = token("L");
  await page.fill("#verbatim_alarm", "Bad_ConnectionRejected");
  await page.fill("#site", "Plant North");
  await page.fill("#line", line);
  await page.fill("#cell", "C7");
  await page.locator('input[name="outcome"][value="workaround"]').check();
  await sendCase(page);
  await page.goto(BASE + "/cases/new");
  assert.equal(await page.inputValue("#site"), "Plant North");
  assert.equal(await page.inputValue("#line"), line);
  assert.equal(await page.inputValue("#cell"), "C7");
  assert.equal(await page.inputValue("#verbatim_alarm"), "", "the case itself is not carried over");
  assert.equal(await page.locator("[data-draft-note]").isVisible(), false, "no draft was left");
  // A QR label's own place wins over the remembered one.
  await page.goto(BASE + "/cases/new?cell=C9");
  assert.equal(await page.inputValue("#cell"), "C9");
  await context.close();
});

test("case form: a restored draft says so, can be discarded, and an invalid old value is left out", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + GUIDE + "/cases/new");
  const alarm = "Half-typed " + token("d");
  await page.fill("#verbatim_alarm", alarm);
  await page.goto(BASE + "/");
  await page.goto(BASE + GUIDE + "/cases/new");
  const note = page.locator("[data-draft-note]");
  await note.waitFor();
  assert.match(await note.innerText(), /Restored the case you started on this phone/);
  assert.equal(await page.inputValue("#verbatim_alarm"), alarm);
  await docShot(page, "floor-form-draft");
  await note.getByRole("button", { name: "Discard draft" }).click();
  assert.equal(await page.inputValue("#verbatim_alarm"), "");
  assert.match(await note.innerText(), /Draft discarded/);
  const drafts = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("case-draft:")));
  assert.deepEqual(drafts, []);

  // An old draft holding a value the server would refuse: that value is not restored.
  const key = await page.locator("[data-case-form]").getAttribute("data-draft-key");
  await page.evaluate((k) => localStorage.setItem(k, JSON.stringify({
    savedAt: Date.now() - 3600 * 1000, verbatim_alarm: "Bad_Timeout", part_count: "twelve", outcome: "fixed",
  })), key);
  await page.reload();
  await note.waitFor();
  assert.match(await note.innerText(), /Left out because they are not valid: Part count/);
  assert.equal(await page.inputValue("#part_count"), "");
  assert.equal(await page.inputValue("#verbatim_alarm"), "Bad_Timeout");
  await sendCase(page);
  await context.close();
});

test("a tech adds an outcome, a note and a photo to their own case", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + GUIDE + "/cases/new");
  await page.fill("#verbatim_alarm", "Bad_ConnectionRejected " + token("own"));
  await page.locator('input[name="outcome"][value="workaround"]').check();
  await sendCase(page);
  const section = page.locator(".followup");
  await section.waitFor();
  assert.match(await section.innerText(), /you can change its outcome, add a note or add photos/);
  await section.locator('input[name="outcome"][value="fixed"]').check();
  const note = "Swapped the switch port " + token("n");
  await section.locator("textarea[name=notes]").fill(note);
  await section.locator("input[type=file]").setInputFiles(PHOTO);
  await section.locator("[data-photo-list] img").waitFor();
  await docShot(page, "floor-case-add");
  await section.getByRole("button", { name: "Save to the case" }).click();
  await page.waitForLoadState("load");
  assert.equal(await page.locator(".casehead .badge").innerText(), "Fixed");
  assert.match(await page.locator("main").innerText(), new RegExp(note));
  assert.equal(await page.locator(".photos img").count(), 1);
  await context.close();
});

test("case page: alarm in a box that wraps, local times, outcome badge, photo viewer", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + GUIDE + "/cases/new");
  const longAlarm = "UaException:status=Bad_ConnectionRejected,message=io.netty.channel.AbstractChannel$AnnotatedConnectException:Connection_refused:ubung/127.0.1.1:53530/" + "x".repeat(120);
  await page.fill("#verbatim_alarm", longAlarm);
  await page.fill("#asset", "KEP-01");
  await page.locator('input[name="outcome"][value="not_fixed"]').check();
  await page.setInputFiles("#photo", [PHOTO, PHOTO]);
  await sendCase(page);
  await fitsWidth(page, "case page with a long alarm");
  const box = page.locator("pre.alarmbox");
  assert.equal(await box.innerText(), longAlarm, "the alarm byte for byte");
  const time = page.locator(".meta time").first();
  assert.match(await time.innerText(), /just now|min ago/);
  assert.match((await time.getAttribute("title")) ?? "", /\d{4}/, "the full local time on hover");
  const badge = page.locator(".casehead .badge");
  assert.equal(await badge.innerText(), "Not fixed");
  assert.match((await badge.getAttribute("class")) ?? "", /badge-not_fixed/);
  assert.equal(await page.locator(".meta").first().innerText().then((t) => t.match(new RegExp(TECH.user, "g")).length), 1,
    "the filer is named once");
  await docShot(page, "floor-case", true);

  await page.locator(".photos a").first().click();
  const viewer = page.locator("dialog.viewer");
  await viewer.waitFor();
  assert.equal(await viewer.locator("[data-count]").innerText(), "Photo 1 of 2");
  await page.waitForFunction(() => document.querySelector("dialog.viewer img").naturalWidth > 0);
  await docShot(page, "floor-photo-viewer");
  await viewer.getByRole("button", { name: "Next" }).click();
  assert.equal(await viewer.locator("[data-count]").innerText(), "Photo 2 of 2");
  assert.equal(new URL(page.url()).pathname.startsWith("/cases/"), true, "still on the case page, not a bare JPEG");
  await page.keyboard.press("Escape");
  assert.equal(await viewer.evaluate((d) => d.open), false, "Escape closes it");
  await assertAccessible(page, "case page");
  await context.close();
});

test("case list: text search and a guide picker", async () => {
  const { context, page } = await techPage();
  const word = token("find");
  await page.goto(BASE + GUIDE + "/cases/new");
  await page.fill("#verbatim_alarm", "Bad_ConnectionRejected on gateway");
  await page.fill("#notes", `Cable tray ${word} was loose`);
  await page.locator('input[name="outcome"][value="escalated"]').check();
  await sendCase(page);
  await page.goto(BASE + "/cases");
  await page.fill("#f-q", word);
  await page.getByRole("button", { name: "Find" }).click();
  await page.waitForURL(/q=/);
  const rows = page.locator(".caselist > li");
  assert.equal(await rows.count(), 1, "only the case whose notes hold the word");
  assert.equal(await rows.locator(".badge").first().innerText(), "Escalated");
  await page.goto(BASE + "/cases");
  await page.locator(".filterform summary").click();
  const picker = page.locator("select#f-guide");
  assert.ok((await picker.locator("option").count()) > 5, "every guide is offered by title");
  await picker.selectOption({ label: "Ignition OPC UA connection to KEPServerEX rejected (Bad_ConnectionRejected)" });
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/guide=ignition-opcua-bad-connectionrejected-kepware/);
  assert.ok((await rows.count()) >= 1);
  await fitsWidth(page, "case list");
  await docShot(page, "floor-case-list");
  await assertAccessible(page, "case list");
  await context.close();
});

test("guide page on a phone: the record at the top, sticky actions, one copy menu", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + GUIDE);
  const record = page.locator(".recordline");
  const rb = await record.boundingBox();
  assert.ok(rb.y + rb.height < 844, "the plant's record is on the first screen");
  assert.match(await record.innerText(), /Fixed \d+ of \d+ here/);
  const first = page.locator(".alarms code").first();
  assert.ok((await first.boundingBox()).y < 844, "the alarm strings are on the first screen");
  // On the first screen: no copy buttons, only the menu control.
  const visibleCopy = await page.locator("[data-copy]").evaluateAll((els) => els.filter((e) => e.checkVisibility()).length);
  assert.equal(visibleCopy, 0, "copy buttons wait behind their menus");
  assert.equal(await page.locator(".guidehead details.copymenu").count(), 1, "one copy menu for the page");
  const bar = page.locator(".stickybar");
  const check = async () => {
    const b = await bar.boundingBox();
    assert.ok(b.y + b.height <= 844 && b.y > 700, `the action bar sits at the bottom (y ${b.y})`);
  };
  await check();
  await docShot(page, "phone-guide");
  await page.locator(".stickybar").getByRole("link", { name: "Fix" }).click();
  await page.waitForFunction(() => location.hash === "#fix");
  const fix = await page.locator("h2#fix").boundingBox();
  assert.ok(fix.y >= 0 && fix.y < 300, "Fix jumps to the fix");
  await check();
  // A section's menu opens over the text and fits the screen.
  const menu = page.locator(".sechead:has(h2#fix) details.copymenu");
  await menu.locator("summary").click();
  const list = await menu.locator(".copyformats").boundingBox();
  assert.ok(list.x >= 0 && list.x + list.width <= 390, "the menu fits the screen");
  await docShot(page, "floor-guide-section-menu");
  await page.keyboard.press("Escape");
  assert.equal(await menu.evaluate((d) => d.open), false);
  await fitsWidth(page, "guide");
  await assertAccessible(page, "guide page");
  await context.close();
});

test("guide page on a desktop: contents beside the text, staying in view", async () => {
  const { context, page } = await techPage({ ...DESKTOP, deviceScaleFactor: 1 });
  await page.goto(BASE + GUIDE);
  const toc = page.locator("nav.toc");
  const body = page.locator(".guide > div.body");
  const t = await toc.boundingBox();
  const b = await body.boundingBox();
  assert.ok(t.x > b.x + b.width - 1, "the contents sit to the right of the text");
  assert.equal(await page.locator(".stickybar").evaluate((el) => getComputedStyle(el).position), "static");
  await docShot(page, "desktop-guide");
  await page.locator("h2#verify").scrollIntoViewIfNeeded();
  const later = await toc.boundingBox();
  assert.ok(later.y >= 0 && later.y < 100, `the contents stay in view (y ${later.y})`);
  await context.close();
});

test("one visual system: button kinds, notices, tables that fit a phone, token copy", async () => {
  const context = await browser.newContext({ ...PHONE_DOC, bypassCSP: true });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  const page = await context.newPage();
  await login(page, ADMIN.user, ADMIN.password, "/admin/users");
  await fitsWidth(page, "admin users");
  const disable = page.getByRole("button", { name: "Disable" }).first();
  const reset = page.getByRole("button", { name: "Reset password" }).first();
  const add = page.getByRole("button", { name: "Add", exact: true });
  const bg = (l) => l.evaluate((el) => getComputedStyle(el).backgroundColor + " " + getComputedStyle(el).color);
  const [d, r, a] = [await bg(disable), await bg(reset), await bg(add)];
  assert.notEqual(d, a, "danger is not primary");
  assert.notEqual(r, a, "secondary is not primary");
  assert.notEqual(d, r, "danger is not secondary");
  await docShot(page, "floor-admin-users", true);

  const name = token("mes");
  await page.goto(BASE + "/admin/tokens");
  await page.fill("#token-name", name);
  await page.getByRole("button", { name: "Create" }).click();
  await page.waitForURL(BASE + "/admin/tokens");
  const secret = await page.locator("#new-token").innerText();
  await page.getByRole("button", { name: "Copy token" }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  const notice = page.locator(".notice-success").first();
  assert.notEqual(await notice.evaluate((el) => getComputedStyle(el).borderTopStyle), "none", "the notice is styled");
  await fitsWidth(page, "admin tokens");
  await docShot(page, "floor-token");
  await assertAccessible(page, "tokens with a new token");

  await page.goto(BASE + "/account");
  await fitsWidth(page, "account");
  const logoutAll = await bg(page.getByRole("button", { name: "Log out everywhere" }));
  const change = await bg(page.getByRole("button", { name: "Change password" }));
  assert.notEqual(logoutAll, change, "Log out everywhere does not look like the main action");
  await context.close();
});

test("labels remember their choices and print; the guide-not-found button fits", async () => {
  const { context, page } = await techPage();
  await page.goto(BASE + "/labels");
  await page.selectOption("#l-guide", "ignition-opcua-bad-connectionrejected-kepware");
  await page.fill("#l-site", "Plant North");
  await page.fill("#l-cell", "C7");
  await page.getByRole("button", { name: "Make labels" }).click();
  await page.waitForURL(/site=Plant/);
  assert.equal(await page.inputValue("#l-site"), "Plant North", "the form shows what was chosen");
  assert.equal(await page.inputValue("#l-guide"), "ignition-opcua-bad-connectionrejected-kepware");
  await page.goto(BASE + "/labels");
  assert.equal(await page.inputValue("#l-cell"), "C7", "and the phone remembers it");
  const print = page.getByRole("button", { name: /Print/ });
  assert.ok(await print.isVisible());
  await page.evaluate(() => { window.printed = 0; window.print = () => { window.printed++; }; });
  await print.click();
  assert.equal(await page.evaluate(() => window.printed), 1);

  await page.goto(BASE + "/guides/opc-ua-kepware-connection-rejected-after-the-firewall-update-on-line-four");
  const b = await page.locator("main .btn-primary").first().boundingBox();
  assert.ok(b.x >= 0 && b.x + b.width <= 390, `the search button fits (${b.x} + ${b.width})`);
  await fitsWidth(page, "guide not found");
  await context.close();
});

test("dark mode keeps the badges and buttons readable", async () => {
  const { context, page } = await techPage({ ...PHONE_DOC, colorScheme: "dark" });
  await page.goto(BASE + "/cases");
  await assertAccessible(page, "case list, dark");
  await docShot(page, "floor-case-list-dark");
  await page.goto(BASE + GUIDE);
  await assertAccessible(page, "guide, dark");
  await context.close();
});

test("case list, guide and form each transfer under 100 KB on a first visit", async () => {
  for (const p of ["/cases", GUIDE, "/cases/new"]) {
    const context = await browser.newContext(PHONE);
    await loginQuietly(context, TECH.user, TECH.password);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    let bytes = 0;
    cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
    await page.goto(BASE + p, { waitUntil: "networkidle" });
    console.log(`${p}: ${bytes} bytes transferred`);
    assert.ok(bytes < 100 * 1024, `${p} transferred ${bytes} bytes`);
    await context.close();
  }
});

test("offline: the case form's scripts are kept before the form is ever opened", async () => {
  const context = await browser.newContext(PHONE_DOC);
  await loginQuietly(context, TECH.user, TECH.password);
  const page = await context.newPage();
  await page.goto(BASE + "/guides");
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
  const src = await page.locator('link[rel="modulepreload"][href*="case-form.js"]').getAttribute("href");
  await page.waitForFunction((u) => caches.match(u).then((r) => !!r), src);
  await context.setOffline(true);
  await page.goto(BASE + "/cases/new");
  await page.fill("#verbatim_alarm", "Bad_Timeout " + token("off"));
  await page.locator('input[name="outcome"][value="fixed"]').check();
  await page.getByRole("button", { name: "Send case" }).click();
  await page.locator("[data-send-state]").filter({ hasText: "Queued" }).waitFor();
  // Leave nothing queued for the other tests: back online, the queue is sent.
  await context.setOffline(false);
  await page.goto(BASE + "/guides");
  await page.waitForFunction(() => window.faultbookOutbox.all().then((items) => items.length === 0), null, { timeout: 15000 });
  await context.close();
});
