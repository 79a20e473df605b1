// Offline search: when the phone has no network, search the guides the service worker saved on
// this phone (their JSON from /api/guides/{slug}, or else the saved page) and the OPC UA
// status-code table the server serves at /api/status-codes. A small copy of the server's rules:
// identifiers split at _ - . / and camelCase and kept whole, codes in any notation, beginnings of
// codes and identifiers, rarer words weigh more, the alarm list outweighs the title and the text.
// It marks a best match only when one saved guide lists the code or identifier searched for.

const NOISE = new Set(("a an the of to in on at for is are was were be been and or but not no with by from as it its " +
  "this that into when then than my i we our has have had do does did can will trace debug info warn warning " +
  "error err fatal severe fine notice critical").split(" "));
const W_ALARMS = 4, W_TITLE = 2.5, W_TEXT = 1, W_PREFIX = 0.8;

/** Light stemming, so that "switches" meets "switch" and "rejected" meets "reject". */
function stem(w) {
  if (w.length > 5 && w.endsWith("ing")) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith("ed")) return w.slice(0, -2);
  if (w.length > 4 && w.endsWith("es")) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) return w.slice(0, -1);
  return w;
}

function splitCamel(piece) {
  return piece.split(/(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z]{2})(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/);
}

function hexOf(v) { return "0x" + (v >>> 0).toString(16).padStart(8, "0"); }

/**
 * The terms of `text`: { t, kind: "part" | "whole" | "hex", prefix } where `prefix` is set for
 * what may be typed half-way (a hex value with fewer than 8 digits, an identifier, the last word).
 */
export function analyze(text) {
  const out = [];
  const chunks = [...String(text).matchAll(/[\p{L}\p{N}_\-./]+/gu)];
  const typing = text.length > 0 && !/\s$/.test(text);
  chunks.forEach((m, i) => {
    const last = typing && i === chunks.length - 1;
    const raw = m[0];
    if (/^-\d{7,}$/.test(raw)) { out.push({ t: raw, kind: "whole" }); return; }
    const chunk = raw.replace(/^[_\-./]+|[_\-./]+$/g, "");
    if (!chunk) return;
    const hx = /^0x([0-9a-f]{1,8})$/i.exec(chunk);
    if (hx) {
      out.push({ t: hexOf(parseInt(hx[1], 16)), kind: "hex",
        prefix: hx[1].length >= 2 && hx[1].length < 8 ? "0x" + hx[1].toLowerCase() : null });
      return;
    }
    if (/^[0-9a-f]{8}$/i.test(chunk) && /[a-f]/i.test(chunk) && /\d/.test(chunk)) {
      out.push({ t: "0x" + chunk.toLowerCase(), kind: "hex" });
      return;
    }
    if (/^\d+$/.test(chunk)) {
      out.push({ t: chunk.replace(/^0+(?=\d)/, ""), kind: chunk.length >= 7 ? "whole" : "part" });
      if (chunk.length === 8) out.push({ t: "0x" + chunk, kind: "hex" });
      return;
    }
    const parts = [];
    chunk.split(/[_\-./]+/).filter(Boolean).forEach((p) => splitCamel(p).forEach((s) => parts.push(s.toLowerCase())));
    parts.forEach((p, j) => out.push({ t: stem(p), kind: "part", prefix: last && j === parts.length - 1 && p.length >= 3 ? p : null }));
    if (parts.length > 1) {
      const joined = parts.join("");
      out.push({ t: joined, kind: "whole", prefix: joined.length >= 3 ? joined : null });
    }
  });
  return out;
}

/** The status-code table, from the phone's cache first (so it answers offline), else the server. */
async function statusTable() {
  let res = window.caches ? await caches.match("/api/status-codes") : null;
  if (!res) res = await fetch("/api/status-codes").catch(() => null);
  if (!res || !res.ok) return [];
  const body = await res.json().catch(() => ({}));
  return Array.isArray(body.codes) ? body.codes : [];
}

/** The code `text` names in any notation (name, hex, decimal, signed), or null. */
export function recogniseCode(codes, text) {
  const words = String(text).match(/-?[\p{L}\p{N}_]+/gu) || [];
  for (const w of words) {
    const flat = w.toLowerCase().replace(/_/g, "");
    const hex = /^(0x)?([0-9a-f]{8})$/i.exec(w);
    const found = codes.find((c) =>
      c.name.toLowerCase().replace(/_/g, "") === flat ||
      (hex && c.hex.toLowerCase() === "0x" + hex[2].toLowerCase()) ||
      String(c.decimal) === w || String(c.signed) === w);
    if (found) return found;
  }
  return null;
}

function fieldTerms(text) {
  const set = new Set();
  for (const a of analyze(text + " ")) set.add(a.t);
  return set;
}

function textOf(html) {
  return new DOMParser().parseFromString(html || "", "text/html").body.textContent || "";
}

/** The guides saved on this phone: their JSON where the service worker kept it, else the page. */
async function savedGuides() {
  if (!window.caches) return [];
  const bySlug = new Map();
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) {
      const url = new URL(req.url);
      const api = /^\/api\/guides\/([a-z0-9-]+)$/.exec(url.pathname);
      const page = /^\/guides\/([a-z0-9-]+)$/.exec(url.pathname);
      if (api) {
        const res = await cache.match(req);
        const g = res && await res.json().catch(() => null);
        if (g && g.slug) {
          bySlug.set(g.slug, { slug: g.slug, url: g.url || "/guides/" + g.slug, title: g.title || g.slug,
            platform: g.platform || "", alarms: g.alarms || [], text: textOf(g.html) });
        }
      } else if (page && !bySlug.has(page[1])) {
        const res = await cache.match(req);
        const html = res ? await res.text().catch(() => "") : "";
        const doc = new DOMParser().parseFromString(html, "text/html");
        const h1 = doc.querySelector("main h1, h1");
        if (!h1) continue;
        bySlug.set(page[1], { slug: page[1], url: "/guides/" + page[1], title: h1.textContent.trim(), platform: "",
          alarms: [...doc.querySelectorAll(".alarms code, [data-alarm]")].map((c) => c.textContent),
          text: (doc.querySelector("main") || doc.body).textContent || "", fromPage: true });
      }
    }
  }
  return [...bySlug.values()];
}

let loaded = null;
/** What offline search runs over: the saved guides (with their terms) and the code table. */
export function offlineCorpus() {
  if (!loaded) {
    loaded = Promise.all([savedGuides(), statusTable()]).then(([guides, codes]) => {
      for (const g of guides) {
        const alarms = g.alarms.join(" \n ");
        const extra = [];
        for (const a of g.alarms) {
          const c = recogniseCode(codes, a);
          if (c) extra.push(c.name, c.hex);
        }
        g.terms = { alarms: fieldTerms(alarms + " " + extra.join(" ")), title: fieldTerms(g.title), text: fieldTerms(g.text) };
      }
      return { guides, codes };
    }).catch(() => ({ guides: [], codes: [] }));
  }
  return loaded;
}

function idf(n, df) { return Math.log(1 + (n - df + 0.5) / (df + 0.5)); }

function matches(set, term) {
  if (set.has(term.t)) return 1;
  if (term.prefix) for (const t of set) if (t.startsWith(term.prefix)) return W_PREFIX;
  return 0;
}

/**
 * Searches the saved guides: { code, hits: [{ guide, score, answer, namesAlarm }], bestMatch,
 * guideCount }. A hit is an answer when it holds at least half of the query's weight and scores
 * at least 40 % of the first; the best match is a guide that alone lists the code or identifier.
 */
export async function searchOffline(q) {
  const { guides, codes } = await offlineCorpus();
  const code = recogniseCode(codes, q);
  const seen = new Set();
  const terms = analyze(q).filter((a) => !(a.kind === "part" && (NOISE.has(a.t) || a.t.length < 2)) && !seen.has(a.t) && seen.add(a.t));
  if (code) for (const t of [code.hex.toLowerCase(), code.name.toLowerCase().replace(/_/g, "")]) {
    if (!seen.has(t)) { seen.add(t); terms.push({ t, kind: "whole" }); }
  }
  const n = Math.max(guides.length, 1);
  const weights = terms.map((term) => idf(n, guides.filter((g) => matches(g.terms.alarms, term) || matches(g.terms.title, term) || matches(g.terms.text, term)).length));
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  const hits = guides.map((g) => {
    let score = 0, held = 0, namesAlarm = false;
    terms.forEach((term, i) => {
      const best = Math.max(W_ALARMS * matches(g.terms.alarms, term), W_TITLE * matches(g.terms.title, term), W_TEXT * matches(g.terms.text, term));
      if (best > 0) { score += best * weights[i]; held += weights[i]; }
      if (term.kind !== "part" && g.terms.alarms.has(term.t)) namesAlarm = true;
    });
    return { guide: g, score, coverage: held / total, namesAlarm };
  }).filter((h) => h.score > 0).sort((a, b) => b.score - a.score);
  const first = hits.length ? hits[0].score : 0;
  hits.forEach((h) => { h.answer = h.namesAlarm || (h.coverage >= 0.5 && h.score >= 0.4 * first); });
  const bestMatch = hits.length && hits[0].namesAlarm && !(hits[1] && hits[1].namesAlarm) ? hits[0] : null;
  return { code, hits, bestMatch, guideCount: guides.length };
}
