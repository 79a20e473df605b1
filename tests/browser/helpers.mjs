// Shared set-up: Debian's Chromium driven by playwright-core, against the server that
// scripts/browser-tests.sh started (FAULTBOOK_URL), with the accounts it made (FB_*).
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import path from "node:path";

export const BASE = process.env.FAULTBOOK_URL || "http://127.0.0.1:8080";
const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = path.join(here, "fixtures");
export const SHOTS = path.resolve(here, "..", "..", "target", "screenshots");
mkdirSync(SHOTS, { recursive: true });

export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
};
export const DESKTOP = { viewport: { width: 1280, height: 800 } };

function account(role) {
  const user = process.env[`FB_${role}_USER`];
  const password = process.env[`FB_${role}_PASSWORD`];
  if (!user || !password) {
    throw new Error(`FB_${role}_USER and FB_${role}_PASSWORD are not set: run scripts/browser-tests.sh`);
  }
  return { user, password };
}
/** The accounts scripts/browser-tests.sh created with `faultbook user add`. */
export const TECH = account("TECH");
export const ADMIN = account("ADMIN");

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

/** A token no guide contains, so a search for it can only find the case filed with it. */
export function token(prefix) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Fills and sends the login form the page shows, then waits until the server sent it on. */
export async function submitLogin(page, user, password) {
  await page.fill("#username", user);
  await page.fill("#password", password);
  const away = page.waitForURL((url) => url.pathname !== "/login", { waitUntil: "load" });
  const refused = page.locator("#form-errors").waitFor();
  away.catch(() => {});
  refused.catch(() => {});
  await page.getByRole("button", { name: "Log in" }).click();
  await Promise.race([away, refused]);
  if (new URL(page.url()).pathname === "/login") {
    const why = await page.locator("#form-errors").innerText().catch(() => "no message");
    assert.fail(`logging in as ${user} failed: ${why}`);
  }
}

/**
 * Logs in on /login (optionally with `next`) and waits for the redirect. The session cookie
 * lands in the page's browser context, so every page of that context is logged in.
 */
export async function login(page, user, password, next) {
  await page.goto(BASE + "/login" + (next ? "?next=" + encodeURIComponent(next) : ""));
  await submitLogin(page, user, password);
}

/**
 * Logs the context in without loading any page (so nothing lands in the browser's caches): the
 * login form's POST, sent from Node with the context's cookie jar, which keeps the session cookie.
 */
export async function loginQuietly(context, user, password) {
  const res = await context.request.post(BASE + "/login", {
    form: { username: user, password, next: "/account" },
  });
  assert.equal(new URL(res.url()).pathname, "/account", `logging in as ${user} failed (${res.status()})`);
}

/** The form token of the page's session (every state-changing form carries it). */
export async function csrfToken(page) {
  return page.locator('input[name="csrf_token"]').first().inputValue();
}

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core on the page and fails listing every serious or critical violation. axe is
 * injected as an inline script, which the site's own policy rightly forbids: the context must
 * be made with `bypassCSP: true`.
 */
export async function assertAccessible(page, name) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`),
    [],
    name,
  );
}

/** The page never scrolls sideways. */
export async function fitsWidth(page, what) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${what}: ${scroll} px wide in a ${width} px window`);
}
