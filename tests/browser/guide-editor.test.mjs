// The guide editor on a phone (390 x 844): an editor changes a Fix step and a tech reads it at
// once; text typed when the session had ended is refused, kept in the browser, brought back
// after logging in again, and then saved. Each test edits its own guide (no other browser test
// reads them) and leaves a unique token in it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  BASE, PHONE, TECH, ADMIN, assertAccessible, fitsWidth, launch, login, loginQuietly, shot, token,
} from "./helpers.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A phone context; bypassCSP only so that assertAccessible may inject axe. */
function phone() {
  return browser.newContext({ ...PHONE, bypassCSP: true });
}

/** The body with `extra` appended to the Fix step that starts with `step`. */
function withFixStep(body, step, extra) {
  const fix = body.indexOf("\n## Fix");
  assert.ok(fix >= 0, "the body has a Fix section");
  const at = body.indexOf("\n" + step, fix);
  const next = body.indexOf("\n## ", fix + 1);
  assert.ok(at > fix && (next < 0 || at < next), `Fix step "${step}" is in the Fix section`);
  const end = body.indexOf("\n", at + 1);
  return body.slice(0, end) + " " + extra + body.slice(end);
}

/** The text between the Fix and the Verify headings of the guide page. */
async function fixText(page) {
  return page.evaluate(() => {
    const r = document.createRange();
    r.setStartAfter(document.querySelector("h2#fix"));
    r.setEndBefore(document.querySelector("h2#verify"));
    return r.toString();
  });
}

async function draftOf(page, key) {
  return page.evaluate((k) => localStorage.getItem(k), key);
}

/** Presses Save and waits for the guide page the server sends on to. */
async function save(page, slug) {
  await Promise.all([
    page.waitForURL((url) => url.pathname === `/guides/${slug}` && url.searchParams.has("saved")),
    page.getByRole("button", { name: "Save", exact: true }).click(),
  ]);
  await page.locator("#saved-note").waitFor();
}

test("guide editor on a phone: an editor changes a Fix step, a tech reads it right away", async () => {
  const SLUG = "historian-collector-status-unknown";
  const mark = token("GEDA");
  const admin = await phone();
  const page = await admin.newPage();
  await login(page, ADMIN.user, ADMIN.password);
  await page.goto(`${BASE}/guides/${SLUG}/edit`);
  const form = page.locator("form[data-guide-editor]");
  await form.waitFor();
  const key = await form.getAttribute("data-draft-key");
  assert.match(key, /^guide-draft:/);
  assert.ok(await page.locator("[data-draft-note]").isHidden(), "no draft note on a fresh editor");
  await shot(page, "guide-edit-a-editor");
  await fitsWidth(page, "guide editor");
  await assertAccessible(page, "guide editor");

  const body = page.locator("textarea[name=body]");
  await body.fill(withFixStep(await body.inputValue(), "3. ", mark));
  await page.fill("#summary", `Fix step 3: ${mark}`);
  await page.waitForFunction(([k, m]) => (localStorage.getItem(k) || "").includes(m), [key, mark]);
  // Show the changed step in the screenshot: the text area scrolled to the Fix section.
  await body.evaluate((el) => {
    el.scrollIntoView({ block: "center" });
    el.scrollTop = el.scrollHeight * (el.value.indexOf("## Fix") / el.value.length);
  });
  await shot(page, "guide-edit-a-changed");
  await page.getByRole("button", { name: "Save", exact: true }).scrollIntoViewIfNeeded();
  await shot(page, "guide-edit-a-buttons");
  await save(page, SLUG);
  assert.match(await fixText(page), new RegExp(mark), "the editor sees the change");
  await page.waitForFunction((k) => localStorage.getItem(k) === null, key);
  await shot(page, "guide-edit-a-saved");
  await admin.close();

  const tech = await phone();
  await loginQuietly(tech, TECH.user, TECH.password);
  const reader = await tech.newPage();
  await reader.goto(`${BASE}/guides/${SLUG}`);
  assert.match(await fixText(reader), new RegExp(`${mark}`), "the tech sees the changed Fix step");
  await reader.locator("h2#fix").scrollIntoViewIfNeeded();
  await shot(reader, "guide-edit-a-tech-reads");
  await fitsWidth(reader, "guide page after an edit");
  await assertAccessible(reader, "guide page after an edit");
  await tech.close();
});

test("guide editor on a phone: text typed after the session ended comes back after logging in", async () => {
  const SLUG = "system-platform-logger-no-messages";
  const EDIT = `/guides/${SLUG}/edit`;
  const mark = token("GEDB");
  const context = await phone();
  const page = await context.newPage();
  await login(page, ADMIN.user, ADMIN.password, EDIT);
  assert.equal(new URL(page.url()).pathname, EDIT, "on the editor after logging in");
  const form = page.locator("form[data-guide-editor]");
  const key = await form.getAttribute("data-draft-key");
  const body = page.locator("textarea[name=body]");
  const typed = withFixStep(await body.inputValue(), "4. ", mark);
  await body.fill(typed);
  await page.waitForFunction(([k, m]) => (localStorage.getItem(k) || "").includes(m), [key, mark]);
  const draft = JSON.parse(await draftOf(page, key));
  assert.equal(draft.revision, await form.getAttribute("data-server-revision"), "the draft names its revision");
  assert.ok(!("csrf_token" in draft.fields) && !("base_revision" in draft.fields), "no form token or revision field in the draft");
  await shot(page, "guide-edit-b-typed");

  // The session ends (expired, logged out elsewhere) while the text is on screen.
  await context.clearCookies();
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === EDIT),
    page.getByRole("button", { name: "Save", exact: true }).click(),
  ]);
  await page.waitForLoadState("load");
  const refused = answer.status() === 401 || new URL(page.url()).pathname === "/login";
  assert.ok(refused, `the save is refused without a session (HTTP ${answer.status()}, at ${page.url()})`);
  await shot(page, "guide-edit-b-refused");
  if (answer.status() === 401) {
    const again = page.locator("#login-again");
    assert.ok(await again.isVisible(), "the refusal offers to log in again");
    assert.equal(new URL(await again.getAttribute("href"), BASE).searchParams.get("next"), EDIT, "and leads back to the editor");
  }
  assert.match(await draftOf(page, key), new RegExp(mark), "the draft outlives the refused save");

  await login(page, ADMIN.user, ADMIN.password, EDIT);
  assert.equal(new URL(page.url()).pathname, EDIT, "back on the editor after logging in");
  const note = page.locator("[data-draft-note]");
  await note.waitFor({ state: "visible" });
  assert.equal(await note.getAttribute("role"), "status");
  assert.match(await note.innerText(), /Your unsaved text from .+ was restored\./);
  assert.ok(await note.getByRole("button", { name: "Discard my draft" }).isVisible());
  assert.equal(await body.inputValue(), typed, "the typed text is back");
  await shot(page, "guide-edit-b-restored");
  await fitsWidth(page, "guide editor with a restored draft");
  await assertAccessible(page, "guide editor with a restored draft");

  await save(page, SLUG);
  assert.match(await fixText(page), new RegExp(mark), "the restored text is saved");
  await page.waitForFunction((k) => localStorage.getItem(k) === null, key);
  await page.locator("h2#fix").scrollIntoViewIfNeeded();
  await shot(page, "guide-edit-b-saved");
  await context.close();
});
