// Synthetic phone photos of HMI alarm screens, made in Chromium from a seed: five palettes, eight
// fonts, four layouts, the screen tilted 5 to 15 degrees in perspective inside a cabinet, blur,
// glare, moiré and JPEG quality 40 to 70, at 1600 x 1200. Each photo carries the alarm it shows.
// `node alarm-photos.mjs OUT_DIR` writes them (for looking at); the tests make them in memory.

/** A small deterministic generator (mulberry32). */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PALETTES = [
  { name: "red banner", screen: "#b91c1c", text: "#ffffff", head: "#7f1d1d" },
  { name: "amber banner", screen: "#facc15", text: "#111111", head: "#a16207" },
  { name: "dark console", screen: "#111827", text: "#4ade80", head: "#1f2937" },
  { name: "white summary", screen: "#f8fafc", text: "#0f172a", head: "#cbd5e1" },
  { name: "blue panel", screen: "#1e3a8a", text: "#f1f5f9", head: "#172554" },
];
const FONTS = [
  "DejaVu Sans", "DejaVu Sans Mono", "DejaVu Serif", "Liberation Sans",
  "Liberation Mono", "Liberation Serif", "Liberation Sans Narrow", "DejaVu Sans Condensed",
];
const AREAS = ["Line 4 / Cell 2", "Packaging L2", "Boiler house", "Press 7", "Filler 3", "Mixing tank B"];

function escape(s) {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

/** The lines the screen shows for one code, in one of four layouts. */
function screenLines(code, layout, rnd) {
  const hh = String(Math.floor(rnd() * 24)).padStart(2, "0");
  const mm = String(Math.floor(rnd() * 60)).padStart(2, "0");
  const ss = String(Math.floor(rnd() * 60)).padStart(2, "0");
  const time = `${hh}:${mm}:${ss}`;
  const area = AREAS[Math.floor(rnd() * AREAS.length)];
  switch (layout) {
    case 0: return { head: "ACTIVE ALARMS", rows: [`${time}  ${code.name} (${code.hex})`, `${area}   Priority: High`] };
    case 1: return { head: "ALARM SUMMARY", rows: [`${time}  ${area}`, `${code.name}  ${code.hex}`] };
    case 2: return { head: "OPC UA CLIENT", rows: ["Connect failed", `Status: ${code.name} [${code.hex}]`] };
    default: return { head: "COMMUNICATION FAULT", rows: [`${area}  ${time}`, `Error ${code.hex} ${code.name}`] };
  }
}

function html(code, rnd) {
  const palette = PALETTES[Math.floor(rnd() * PALETTES.length)];
  const font = FONTS[Math.floor(rnd() * FONTS.length)];
  const layout = Math.floor(rnd() * 4);
  const { head, rows } = screenLines(code, layout, rnd);
  const size = 28 + Math.floor(rnd() * 12);
  const sign = () => (rnd() < 0.5 ? -1 : 1);
  // Tilt 5 to 15 degrees, mostly out of the picture plane (the phone held off-axis).
  const tiltX = sign() * (5 + rnd() * 10), tiltY = sign() * (5 + rnd() * 10), roll = sign() * (1 + rnd() * 5);
  const blur = (rnd() * 1.2).toFixed(2);
  const glare = (0.1 + rnd() * 0.25).toFixed(2);
  const gx = Math.floor(rnd() * 100), gy = Math.floor(rnd() * 100);
  const moire = (0.04 + rnd() * 0.08).toFixed(3);
  const moireAngle = Math.floor(rnd() * 180);
  const page = `<!doctype html><html><head><style>
    html, body { margin: 0; width: 1600px; height: 1200px; overflow: hidden; }
    body { background: radial-gradient(circle at 30% 20%, #6b7280, #374151 60%, #1f2937);
           display: flex; align-items: center; justify-content: center; perspective: 1400px; }
    .bezel { background: #18181b; padding: 26px; border-radius: 18px; box-shadow: 0 30px 60px rgba(0,0,0,.6);
             transform: rotateX(${tiltX}deg) rotateY(${tiltY}deg) rotateZ(${roll}deg); filter: blur(${blur}px); }
    .screen { width: 1040px; background: ${palette.screen}; color: ${palette.text}; font-family: "${font}";
              font-size: ${size}px; position: relative; overflow: hidden; }
    .head { background: ${palette.head}; padding: 10px 24px; font-weight: 700; font-size: ${Math.round(size * 0.8)}px; }
    .row { padding: 14px 24px; white-space: nowrap; }
    .glare { position: absolute; inset: 0; background: radial-gradient(circle at ${gx}% ${gy}%, rgba(255,255,255,${glare}), transparent 45%); }
    .moire { position: absolute; inset: 0; background: repeating-linear-gradient(${moireAngle}deg, rgba(0,0,0,${moire}) 0 2px, transparent 2px 5px); }
  </style></head><body><div class="bezel"><div class="screen">
    <div class="head">${escape(head)}</div>
    ${rows.map((r) => `<div class="row">${escape(r)}</div>`).join("")}
    <div class="moire"></div><div class="glare"></div>
  </div></div></body></html>`;
  return { page, palette: palette.name, font, layout };
}

/**
 * Makes `count` photos from `codes` ([{name, hex, expect}]) with one browser page; returns
 * [{name, jpeg, code, expect, palette, font, layout, quality}].
 */
export async function makePhotos(browser, codes, count, seed = 19) {
  const rnd = random(seed);
  const context = await browser.newContext({ viewport: { width: 1600, height: 1200 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const photos = [];
  for (let i = 0; i < count; i++) {
    const code = codes[i % codes.length];
    const made = html(code, rnd);
    const quality = 40 + Math.floor(rnd() * 31);
    await page.setContent(made.page, { waitUntil: "load" });
    await page.evaluate(() => document.fonts.ready.then(() => true));
    const jpeg = await page.screenshot({ type: "jpeg", quality });
    photos.push({ name: `alarm-${String(i).padStart(2, "0")}.jpg`, jpeg, code, expect: code.expect, quality, ...made, page: undefined });
  }
  await context.close();
  return photos;
}

// `FAULTBOOK_URL=http://… node alarm-photos.mjs OUT_DIR [COUNT]`: writes the set to look at.
if (process.argv[1] && import.meta.url === new URL(process.argv[1], "file://").href) {
  const [{ writeFileSync, mkdirSync }, { launch, BASE }] = await Promise.all([import("node:fs"), import("./helpers.mjs")]);
  const out = process.argv[2] || "alarm-photos";
  const browser = await launch();
  const ctx = await browser.newContext();
  const { codes } = await (await ctx.request.get(BASE + "/api/status-codes")).json();
  const listed = codes.filter((c) => c.guides && c.guides.length).map((c) => ({ name: c.name, hex: c.hex, expect: "" }));
  mkdirSync(out, { recursive: true });
  for (const p of await makePhotos(browser, listed, Number(process.argv[3] || 40))) writeFileSync(`${out}/${p.name}`, p.jpeg);
  await browser.close();
}
