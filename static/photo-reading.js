// Reads the alarm text from a phone photo of an HMI screen, on the phone: finds the screen in the
// photo, straightens it (a perspective warp, since tilt is what breaks line finding), and runs
// tesseract.js on the straightened crop at the camera's own resolution. Every file the engine
// needs is served by faultbook itself and kept by the service worker; nothing is uploaded.
// Loaded only when a photo is chosen.

const HERE = new URL(".", import.meta.url).href;
/** Longest side of the copy the screen is looked for in. */
const DETECT_MAX = 560;
/** Widest straightened crop handed to OCR: wider only costs time. */
const OCR_MAX_WIDTH = 2000;

let engine = null;

/** The browser runs WebAssembly SIMD: the faster engine build. */
function hasSimd() {
  try {
    // (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
    return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3,
      2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]));
  } catch (e) {
    return false;
  }
}

/** Starts the OCR engine once per page; later photos reuse it warm. */
export function startEngine(onProgress) {
  if (!engine) {
    engine = import(HERE + "ocr/tesseract.esm.min.js").then(async (mod) => {
      const createWorker = mod.createWorker || (mod.default && mod.default.createWorker);
      const worker = await createWorker("eng", 1, {
        workerPath: HERE + "ocr/worker.min.js",
        corePath: HERE + (hasSimd() ? "ocr/tesseract-core-simd-lstm.wasm.js" : "ocr/tesseract-core-lstm.wasm.js"),
        langPath: HERE + "ocr",
        gzip: true,
        // The service worker keeps the files; a second copy in IndexedDB would only take space.
        cacheMethod: "none",
        // A worker started from a blob: URL would need a looser content security policy.
        workerBlobURL: false,
        logger: (m) => { if (onProgress && m.status === "recognizing text") onProgress(m.progress); },
      });
      // Mode 6: one uniform block of text. The automatic mode splits a banner into columns.
      await worker.setParameters({ tessedit_pageseg_mode: "6", preserve_interword_spaces: "1", thresholding_method: "2" });
      return worker;
    });
    engine.catch(() => { engine = null; });
  }
  return engine;
}

function luminance(data, n) {
  const lum = new Uint8ClampedArray(n);
  for (let i = 0, j = 0; i < n; i++, j += 4) lum[i] = (data[j] * 77 + data[j + 1] * 150 + data[j + 2] * 29) >> 8;
  return lum;
}

/**
 * Every connected region of a w x h picture, where `same(p, q)` says whether neighbouring pixels
 * p and q belong together: its area, outline and the corners of the quadrilateral it spans (the
 * extreme points along the two diagonals: top-left, top-right, bottom-right, bottom-left).
 */
function* regions(w, h, same) {
  const n = w * h;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (seen[start]) continue;
    let top = 0, area = 0;
    let minX = w, maxX = 0, minY = h, maxY = 0;
    let tl = [0, 0, Infinity], tr = [0, 0, -Infinity], br = [0, 0, -Infinity], bl = [0, 0, -Infinity];
    stack[top++] = start;
    seen[start] = 1;
    while (top) {
      const p = stack[--top];
      const x = p % w, y = (p / w) | 0;
      area++;
      if (x < minX) minX = x; if (x > maxX) maxX = x; if (y < minY) minY = y; if (y > maxY) maxY = y;
      if (x + y < tl[2]) tl = [x, y, x + y];
      if (x - y > tr[2]) tr = [x, y, x - y];
      if (x + y > br[2]) br = [x, y, x + y];
      if (y - x > bl[2]) bl = [x, y, y - x];
      if (x > 0 && !seen[p - 1] && same(p, p - 1)) { seen[p - 1] = 1; stack[top++] = p - 1; }
      if (x < w - 1 && !seen[p + 1] && same(p, p + 1)) { seen[p + 1] = 1; stack[top++] = p + 1; }
      if (y > 0 && !seen[p - w] && same(p, p - w)) { seen[p - w] = 1; stack[top++] = p - w; }
      if (y < h - 1 && !seen[p + w] && same(p, p + w)) { seen[p + w] = 1; stack[top++] = p + w; }
    }
    yield { area, minX, maxX, minY, maxY, corners: [tl, tr, br, bl].map(([x, y]) => [x, y]) };
  }
}

/** Neighbouring pixels this close in colour (sum of channel differences) are one surface. */
const SAME_SURFACE = 12;
/** A brightness step this large between neighbours is an edge (of a character, mostly). */
const EDGE_STEP = 48;

/**
 * The four corners of the screen in a small copy of the photo, or null. Pixels are joined into
 * surfaces where neighbours differ little in colour, so a wall's smooth gradient stays one
 * surface and a screen's border stops it. The screen is the surface, not the background around
 * the picture, that fills most of its outline and holds the most character edges for its size;
 * its corners are the extreme points along the two diagonals (enough for tilts up to ~20°).
 */
export function findScreen(img, w, h) {
  const n = w * h, d = img.data;
  const lum = luminance(d, n);
  // Character edges, counted per outline through a summed-area table.
  const sat = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const edge = (x + 1 < w && Math.abs(lum[p] - lum[p + 1]) > EDGE_STEP) || (y + 1 < h && Math.abs(lum[p] - lum[p + w]) > EDGE_STEP);
      row += edge ? 1 : 0;
      sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
    }
  }
  const edgesIn = (x0, y0, x1, y1) => sat[(y1 + 1) * (w + 1) + x1 + 1] - sat[y0 * (w + 1) + x1 + 1] - sat[(y1 + 1) * (w + 1) + x0] + sat[y0 * (w + 1) + x0];
  const close = (p, q) => Math.abs(d[p * 4] - d[q * 4]) + Math.abs(d[p * 4 + 1] - d[q * 4 + 1]) + Math.abs(d[p * 4 + 2] - d[q * 4 + 2]) <= SAME_SURFACE;
  const found = [];
  for (const { area, minX, maxX, minY, maxY, corners } of regions(w, h, close)) {
    const share = area / n;
    if (share < 0.015 || share > 0.9) continue;
    const borders = (minX === 0) + (maxX === w - 1) + (minY === 0) + (maxY === h - 1);
    if (borders >= 3) continue;
    const quad = corners;
    // How much of the quadrilateral its corners span the surface fills: a tilted screen fills
    // its own quad, not its upright bounding box.
    let twice = 0;
    for (let i = 0; i < 4; i++) twice += quad[i][0] * quad[(i + 1) % 4][1] - quad[(i + 1) % 4][0] * quad[i][1];
    const fill = area / Math.max(1, Math.abs(twice) / 2);
    const box = (maxX - minX + 1) * (maxY - minY + 1);
    const density = edgesIn(minX, minY, maxX, maxY) / box;
    if (fill < 0.6 || density < 0.01) continue;
    found.push({ score: area * fill * density, minX, maxX, minY, maxY, corners });
  }
  if (!found.length) return null;
  found.sort((a, b) => b.score - a.score);
  // A header bar, or the part of a screen under glare, is a surface of its own: surfaces that
  // touch the best one's outline are the same screen, and their corners join.
  const best = found[0];
  const padX = (best.maxX - best.minX) * 0.1, padY = (best.maxY - best.minY) * 0.35;
  const corners = best.corners.map((c) => c.slice());
  for (const other of found.slice(1)) {
    const touches = other.minX <= best.maxX + padX && other.maxX >= best.minX - padX &&
      other.minY <= best.maxY + padY && other.maxY >= best.minY - padY;
    if (!touches) continue;
    const [tl, tr, br, bl] = other.corners;
    if (tl[0] + tl[1] < corners[0][0] + corners[0][1]) corners[0] = tl.slice();
    if (tr[0] - tr[1] > corners[1][0] - corners[1][1]) corners[1] = tr.slice();
    if (br[0] + br[1] > corners[2][0] + corners[2][1]) corners[2] = br.slice();
    if (bl[1] - bl[0] > corners[3][1] - corners[3][0]) corners[3] = bl.slice();
  }
  return corners;
}

function otsu(lum) {
  const hist = new Float64Array(256);
  for (let i = 0; i < lum.length; i++) hist[lum[i]]++;
  let sum = 0;
  for (let t = 0; t < 256; t++) sum += t * hist[t];
  let sumB = 0, wB = 0, best = 0, threshold = 128;
  for (let t = 0; t < 256; t++) {
    wB += hist[t];
    if (!wB) continue;
    const wF = lum.length - wB;
    if (!wF) break;
    sumB += t * hist[t];
    const mB = sumB / wB, mF = (sum - sumB) / wF;
    const between = wB * wF * (mB - mF) * (mB - mF);
    if (between > best) { best = between; threshold = t; }
  }
  return threshold;
}

/**
 * A second guess at the screen's corners, for screens whose colour chains into their
 * surroundings: the largest region of one brightness class (after Otsu's threshold) that is not
 * the surrounding background.
 */
export function findScreenByBrightness(img, w, h) {
  const lum = luminance(img.data, w * h);
  const t = otsu(lum);
  let best = null;
  for (const { area, minX, maxX, minY, maxY, corners } of regions(w, h, (p, q) => (lum[p] > t) === (lum[q] > t))) {
    const borders = (minX === 0) + (maxX === w - 1) + (minY === 0) + (maxY === h - 1);
    const share = area / (w * h);
    if (borders >= 3 || share < 0.06 || share > 0.92) continue;
    // A screen fills most of its own outline; scattered text does not.
    const fill = area / ((maxX - minX + 1) * (maxY - minY + 1));
    if (fill < 0.45) continue;
    const score = area * fill;
    if (!best || score > best.score) best = { score, corners };
  }
  return best ? best.corners : null;
}

/** Solves for the homography taking the rectangle w x h onto the quad (tl, tr, br, bl). */
function homography(quad, w, h) {
  const src = [[0, 0], [w, 0], [w, h], [0, h]];
  const A = [], b = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = src[i], [u, v] = quad[i];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.push(u);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y]); b.push(v);
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]]; [b[c], b[p]] = [b[p], b[c]];
    if (Math.abs(A[c][c]) < 1e-12) return null;
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let k = c; k < 8; k++) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  return b.map((v, i) => v / A[i][i]);
}

/** The quad of the full-size photo warped onto an upright rectangle (bilinear sampling). */
function straighten(source, quad) {
  const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  let outW = Math.round(Math.max(dist(quad[0], quad[1]), dist(quad[3], quad[2])));
  let outH = Math.round(Math.max(dist(quad[0], quad[3]), dist(quad[1], quad[2])));
  const scale = Math.min(1, OCR_MAX_WIDTH / outW);
  outW = Math.max(1, Math.round(outW * scale));
  outH = Math.max(1, Math.round(outH * scale));
  const H = homography(quad, outW, outH);
  if (!H) return null;
  const sw = source.width, sh = source.height, s = source.data;
  const out = new ImageData(outW, outH);
  const d = out.data;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const den = H[6] * x + H[7] * y + 1;
      const u = (H[0] * x + H[1] * y + H[2]) / den;
      const v = (H[3] * x + H[4] * y + H[5]) / den;
      const o = (y * outW + x) * 4;
      const x0 = Math.floor(u), y0 = Math.floor(v);
      if (x0 < 0 || y0 < 0 || x0 >= sw - 1 || y0 >= sh - 1) { d[o] = d[o + 1] = d[o + 2] = 255; d[o + 3] = 255; continue; }
      const fx = u - x0, fy = v - y0;
      const i00 = (y0 * sw + x0) * 4, i10 = i00 + 4, i01 = i00 + sw * 4, i11 = i01 + 4;
      for (let c = 0; c < 3; c++) {
        const top = s[i00 + c] + (s[i10 + c] - s[i00 + c]) * fx;
        const bottom = s[i01 + c] + (s[i11 + c] - s[i01 + c]) * fx;
        d[o + c] = top + (bottom - top) * fy;
      }
      d[o + 3] = 255;
    }
  }
  return out;
}

function canvasOf(w, h) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  return c;
}

/** The photo's pixels, upright as the camera held it, at full resolution. */
export async function pixelsOf(blob) {
  const bmp = await createImageBitmap(blob, { imageOrientation: "from-image" });
  const c = canvasOf(bmp.width, bmp.height);
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bmp, 0, 0);
  return { canvas: c, bitmap: bmp, image: ctx.getImageData(0, 0, c.width, c.height) };
}

/** A word that looks like a status or Windows code, even as OCR misreads it. */
const CODE_LIKE = /\b(Bad|Good|Uncertain)[\s_.-]?[A-Z][A-Za-z]{3,}|\b[0O8@][xX][0-9A-Za-z]{8}\b|\b(OPC|RPC|CO|E|DISP|REGDB|CLASS)_[A-Z_]{3,}|\b[0-9A-F]{8}\b/;

/** The recognised lines worth offering: trimmed, with some letters, at most eight. */
export function usefulLines(text) {
  return text.split("\n")
    .map((l) => l.replace(/\s+/g, " ").trim())
    .filter((l) => l.length >= 3 && /[A-Za-z]{2}/.test(l))
    .slice(0, 8);
}

/** The line to search for: the first that holds a code, else the longest. */
export function pickQuery(lines) {
  const coded = lines.find((l) => CODE_LIKE.test(l));
  if (coded) return coded;
  return lines.reduce((a, b) => (b.length > a.length ? b : a), "");
}

/**
 * The angle (degrees) that levels the text lines of a canvas: the rotation whose row profile of
 * text pixels is the most peaked (lines fall into few rows, the gaps between them into others).
 */
function skewOf(canvas) {
  const scale = Math.min(1, 400 / canvas.width);
  const w = Math.max(1, Math.round(canvas.width * scale)), h = Math.max(1, Math.round(canvas.height * scale));
  const small = canvasOf(w, h);
  const ctx = small.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(canvas, 0, 0, w, h);
  const lum = luminance(ctx.getImageData(0, 0, w, h).data, w * h);
  const t = otsu(lum);
  let dark = 0;
  for (let i = 0; i < lum.length; i++) if (lum[i] <= t) dark++;
  // Text is the smaller class, whatever its colour.
  const textIsDark = dark < lum.length / 2;
  const xs = [], ys = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if ((lum[y * w + x] <= t) === textIsDark) { xs.push(x - w / 2); ys.push(y - h / 2); }
    }
  }
  let best = 0, bestScore = -1;
  const diag = Math.ceil(Math.hypot(w, h));
  for (let deg = -15; deg <= 15; deg += 0.5) {
    const r = (deg * Math.PI) / 180, sin = Math.sin(r), cos = Math.cos(r);
    const rows = new Float64Array(diag * 2 + 2);
    for (let i = 0; i < xs.length; i++) rows[Math.round(ys[i] * cos - xs[i] * sin) + diag]++;
    let score = 0;
    for (let i = 0; i < rows.length; i++) score += rows[i] * rows[i];
    if (score > bestScore) { bestScore = score; best = deg; }
  }
  return best;
}

/** The canvas turned by `deg` degrees about its centre, on a canvas that holds all of it. */
function rotated(canvas, deg) {
  const r = (deg * Math.PI) / 180;
  const w = Math.ceil(Math.abs(canvas.width * Math.cos(r)) + Math.abs(canvas.height * Math.sin(r)));
  const h = Math.ceil(Math.abs(canvas.width * Math.sin(r)) + Math.abs(canvas.height * Math.cos(r)));
  const out = canvasOf(w, h);
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  ctx.translate(w / 2, h / 2);
  ctx.rotate(r);
  ctx.drawImage(canvas, -canvas.width / 2, -canvas.height / 2);
  return out;
}

/**
 * Straightens `quad` of the photo onto a canvas for OCR. A box the tech drew is cut out upright
 * and levelled by the slant of its text lines, as is the whole photo when no screen was found.
 */
function cropFor(image, quad, drawn) {
  const straight = quad && !drawn ? straighten(image, quad) : null;
  if (straight) {
    const canvas = canvasOf(straight.width, straight.height);
    canvas.getContext("2d").putImageData(straight, 0, 0);
    return { canvas, straightened: true };
  }
  let canvas = canvasOf(image.width, image.height);
  canvas.getContext("2d").putImageData(image, 0, 0);
  if (quad) {
    const [x0, y0] = quad[0], [x1, y1] = quad[2];
    const cut = canvasOf(Math.max(1, Math.round(x1 - x0)), Math.max(1, Math.round(y1 - y0)));
    cut.getContext("2d").drawImage(canvas, x0, y0, x1 - x0, y1 - y0, 0, 0, cut.width, cut.height);
    canvas = cut;
  }
  const deg = skewOf(canvas);
  return { canvas: deg ? rotated(canvas, -deg) : canvas, straightened: false };
}

/**
 * Reads a photo: `region` (a box in photo pixels the tech drew) skips the screen detection.
 * Otherwise the screen found by colour is read first; when no line of it looks like a code, the
 * screen found by brightness, then the whole photo, are read too, and the first reading that
 * holds a code (else the one with the longest line) wins. Returns the lines, the query, whether
 * the screen was straightened, the image read, and the time each stage took.
 */
export async function readPhoto(blob, { region = null, onProgress = null } = {}) {
  const t0 = performance.now();
  const ready = startEngine(onProgress);
  const { image, bitmap } = await pixelsOf(blob);
  const t1 = performance.now();
  const quads = [];
  if (region) {
    quads.push([[region.x, region.y], [region.x + region.w, region.y], [region.x + region.w, region.y + region.h], [region.x, region.y + region.h]]);
  } else {
    const scale = Math.min(1, DETECT_MAX / Math.max(image.width, image.height));
    const small = canvasOf(Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)));
    const sctx = small.getContext("2d", { willReadFrequently: true });
    sctx.drawImage(bitmap, 0, 0, small.width, small.height);
    const pixels = sctx.getImageData(0, 0, small.width, small.height);
    for (const found of [findScreen(pixels, small.width, small.height), findScreenByBrightness(pixels, small.width, small.height)]) {
      if (found) quads.push(found.map(([x, y]) => [x / scale, y / scale]));
    }
    quads.push(null);
  }
  const t2 = performance.now();
  const worker = await ready;
  const t3 = performance.now();
  let best = null;
  let straightenMs = t2 - t1;
  for (const quad of quads) {
    const s0 = performance.now();
    const { canvas, straightened } = cropFor(image, quad, Boolean(region));
    straightenMs += performance.now() - s0;
    const { data } = await worker.recognize(canvas);
    const lines = usefulLines(data.text || "");
    const query = pickQuery(lines);
    const reading = { lines, query, straightened, canvas, coded: CODE_LIKE.test(query) };
    if (!best || (reading.coded && !best.coded) || (reading.coded === best.coded && query.length > best.query.length)) best = reading;
    if (best.coded) break;
  }
  const t4 = performance.now();
  return {
    lines: best.lines,
    query: best.query,
    straightened: best.straightened,
    canvas: best.canvas,
    timings: { decode: t1 - t0, straighten: straightenMs, engineWait: t3 - t2, ocr: t4 - t3 - (straightenMs - (t2 - t1)), total: t4 - t0 },
  };
}
