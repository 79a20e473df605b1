// Search by photo of the alarm, at phone size (390 x 844): synthetic phone photos of HMI screens
// (alarm-photos.mjs) are read on the phone by tesseract.js after the screen is found and
// straightened; the line holding the alarm is searched. Measured over the set: right guide
// first, in the top 3, code recognised, OCR time per photo, bytes sent. The photo never leaves
// the phone, and the whole thing works with the network off once the engine was used.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BASE, PHONE, launch } from "./helpers.mjs";
import { makePhotos } from "./alarm-photos.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DOCS = path.resolve(HERE, "..", "..", "docs", "screenshots");
const REPORT = path.resolve(HERE, "..", "..", "target", "photo-search.json");
const PHOTOS = 40;
const PHONE_DOC = { ...PHONE, deviceScaleFactor: 1 };

let browser;
let photos = [];
before(async () => {
  browser = await launch();
  const ctx = await browser.newContext();
  // Every OPC UA code a shipped guide lists, with the guide a perfectly typed name finds first.
  const { codes } = await (await ctx.request.get(BASE + "/api/status-codes")).json();
  const listed = [];
  for (const c of codes.filter((c) => c.guides && c.guides.length)) {
    const res = await (await ctx.request.get(BASE + "/api/search?q=" + encodeURIComponent(c.name))).json();
    const first = res.hits.find((h) => h.kind === "guide");
    if (first) listed.push({ name: c.name, hex: c.hex, expect: first.slug });
  }
  await ctx.close();
  assert.ok(listed.length >= 10, `codes with guides: ${listed.length}`);
  photos = await makePhotos(browser, listed, PHOTOS);
});
after(async () => { await browser?.close(); });

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : 0;
}

/** Calls photo-reading.js in the page on one photo; resolves with what it read. */
async function readInPage(page, photo) {
  return page.evaluate(async ([b64]) => {
    const src = document.querySelector('script[src*="photo-search.js"]').src.replace("photo-search.js", "photo-reading.js");
    const m = await import(src);
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const r = await m.readPhoto(new Blob([bytes], { type: "image/jpeg" }));
    return { lines: r.lines, query: r.query, straightened: r.straightened, timings: r.timings };
  }, [photo.jpeg.toString("base64")]);
}

test(`photo search: ${PHOTOS} synthetic phone photos, read on the phone, find their guide`, async () => {
  const context = await browser.newContext(PHONE_DOC);
  const page = await context.newPage();
  const sent = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (!url.pathname.startsWith("/static/")) sent.push({ method: r.method(), url: r.url(), body: (r.postDataBuffer() || Buffer.alloc(0)).length });
  });
  await page.goto(BASE + "/");
  sent.length = 0;
  // Start the engine once (loading it is not OCR time), then read every photo warm.
  const t = Date.now();
  await readInPage(page, photos[0]);
  const engineStartMs = Date.now() - t;
  // From here the phone has no network: reading needs none. (The searches below are the test's
  // own requests from Node, which the page's network state does not touch.)
  await context.setOffline(true);

  const rows = [];
  for (const photo of photos) {
    const read = await readInPage(page, photo);
    const res = await (await context.request.get(BASE + "/api/search?q=" + encodeURIComponent(read.query))).json();
    const guides = res.hits.filter((h) => h.kind === "guide").map((h) => h.slug);
    const codes = [res.status_code && res.status_code.name, ...(res.classic_codes || []).map((c) => c.name)].filter(Boolean);
    rows.push({
      photo: photo.name, palette: photo.palette, font: photo.font, layout: photo.layout, quality: photo.quality,
      shows: `${photo.code.name} ${photo.code.hex}`, read: read.query, straightened: read.straightened,
      first: guides[0] === photo.expect, top3: guides.slice(0, 3).includes(photo.expect),
      code: codes.includes(photo.code.name), ocrMs: Math.round(read.timings.ocr), totalMs: Math.round(read.timings.total),
    });
  }
  await context.setOffline(false);
  await context.close();

  const n = rows.length;
  const count = (k) => rows.filter((r) => r[k]).length;
  const report = {
    photos: n,
    right_first: count("first"), top3: count("top3"), code_recognised: count("code"), straightened: count("straightened"),
    ocr_ms_median: median(rows.map((r) => r.ocrMs)), ocr_ms_max: Math.max(...rows.map((r) => r.ocrMs)),
    read_ms_median: median(rows.map((r) => r.totalMs)), engine_start_ms: engineStartMs,
    requests_besides_static_files: sent.length, bytes_sent: sent.reduce((a, r) => a + r.body, 0),
    rows,
  };
  mkdirSync(path.dirname(REPORT), { recursive: true });
  writeFileSync(REPORT, JSON.stringify(report, null, 2));
  console.log(`photo search: right guide first ${report.right_first}/${n}, top 3 ${report.top3}/${n}, code recognised ${report.code_recognised}/${n}, straightened ${report.straightened}/${n}; OCR median ${report.ocr_ms_median} ms (max ${report.ocr_ms_max}), whole read median ${report.read_ms_median} ms, engine start ${engineStartMs} ms; requests besides static files ${report.requests_besides_static_files}, bytes sent ${report.bytes_sent}`);
  for (const r of rows.filter((r) => !r.first)) console.log(`  missed ${r.photo} (${r.palette}, ${r.font}, layout ${r.layout}, q${r.quality}): shows "${r.shows}", read "${r.read}"`);

  // Reading a photo sends nothing: the only requests are the engine's own files.
  assert.equal(report.requests_besides_static_files, 0, JSON.stringify(sent));
  assert.ok(report.right_first >= Math.ceil(0.85 * n), `right guide first for ${report.right_first} of ${n} photos`);
});

test("photo search: the camera button reads the photo, searches, offers the lines, and works offline", async () => {
  const photo = photos.find((p) => p.layout === 0) || photos[0];
  const context = await browser.newContext(PHONE_DOC);
  const page = await context.newPage();
  const posts = [];
  const engineFiles = [];
  page.on("request", (r) => {
    if (r.method() !== "GET") posts.push(r.url());
    if (/\/ocr\/|photo-reading\.js/.test(r.url())) engineFiles.push(r.url());
  });
  await page.goto(BASE + "/");
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  // The guide is opened once online, so that the phone can search it offline.
  await page.goto(BASE + "/guides/" + photo.expect);
  await page.goto(BASE + "/");

  const button = page.locator("label.camera-button");
  await button.waitFor();
  assert.deepEqual(engineFiles, [], "pages do not load the OCR engine until the camera button is used");
  const box = await button.boundingBox();
  assert.ok(box.height >= 48 && box.width > 300, `the camera button is large (${box.width} x ${box.height})`);
  await page.setInputFiles("#alarm_photo", { name: "alarm.jpg", mimeType: "image/jpeg", buffer: photo.jpeg });
  await page.waitForURL(/\/search\?q=/, { timeout: 60000 });
  const chips = page.locator("[data-photo-lines] .chip");
  await chips.first().waitFor();
  assert.ok(await chips.count() >= 1);
  assert.equal(await page.locator("[data-best-match] a.title").getAttribute("href"), `/guides/${photo.expect}`);
  await page.screenshot({ path: path.join(DOCS, "phone-photo-search.png") });
  assert.deepEqual(posts, [], "the photo is not sent anywhere");

  // The tech marks the alarm row by hand: a box dragged over the photo is read again.
  await page.getByRole("button", { name: "Mark the alarm row on the photo" }).click();
  const canvas = page.locator("[data-photo-fix] canvas");
  await canvas.waitFor();
  await page.waitForFunction(() => document.querySelector("[data-photo-fix] canvas").width > 0);
  await canvas.scrollIntoViewIfNeeded();
  const area = await canvas.boundingBox();
  const before = page.url();
  await page.mouse.move(area.x + area.width * 0.12, area.y + area.height * 0.3);
  await page.mouse.down();
  await page.mouse.move(area.x + area.width * 0.5, area.y + area.height * 0.5, { steps: 5 });
  await page.mouse.move(area.x + area.width * 0.88, area.y + area.height * 0.7, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL((url) => url.href !== before && url.pathname === "/search", { timeout: 60000 });
  assert.equal(await page.locator("[data-best-match] a.title").getAttribute("href"), `/guides/${photo.expect}`,
    "the row read from the marked box finds the guide");
  assert.deepEqual(posts, [], "still nothing sent");

  // Offline: the engine's files and the search page come from the phone.
  await context.setOffline(true);
  await page.goto(BASE + "/search");
  await page.setInputFiles("#alarm_photo", { name: "alarm.jpg", mimeType: "image/jpeg", buffer: photo.jpeg });
  await page.waitForURL(/\/search\?q=/, { timeout: 60000 });
  await page.locator("[data-offline-notice]").waitFor();
  assert.equal(await page.locator("[data-best-match] a.title").getAttribute("href"), `/guides/${photo.expect}`);
  await context.setOffline(false);
  await context.close();
});
