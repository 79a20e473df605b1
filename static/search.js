// Search as you type, and search when the phone is offline. The search box is an ARIA combobox:
// suggestions come from /api/search (or, without a network, from the guides saved on this phone),
// Up and Down move through them, Enter opens the one chosen, Escape closes the list. Without this
// file the search form still posts to /search.
import { searchOffline } from "./offline-search.js";

const input = document.querySelector("[data-live-search]");
const list = input && document.getElementById(input.getAttribute("aria-controls"));
const status = document.querySelector("[data-live-status]");
const MIN_CHARS = 2;
const DELAY_MS = 150;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function guidesSaved(n) {
  return n === 1 ? "1 guide" : n + " guides";
}

function fileCaseHref(q) {
  return "/cases/new?" + new URLSearchParams({ alarm: q }).toString();
}

// ----- the suggestion list ---------------------------------------------------------------------

let active = -1;
let timer = null;
let seq = 0;

function options() {
  return list ? [...list.querySelectorAll("[role=option]")] : [];
}

function open(isOpen) {
  if (!list) return;
  list.hidden = !isOpen;
  input.setAttribute("aria-expanded", isOpen ? "true" : "false");
  if (!isOpen) setActive(-1);
}

function setActive(i) {
  const opts = options();
  active = opts.length ? Math.max(-1, Math.min(i, opts.length - 1)) : -1;
  opts.forEach((o, j) => o.setAttribute("aria-selected", j === active ? "true" : "false"));
  if (active >= 0) {
    input.setAttribute("aria-activedescendant", opts[active].id);
    opts[active].scrollIntoView({ block: "nearest" });
  } else {
    input.removeAttribute("aria-activedescendant");
  }
}

function go(option) {
  const href = option && option.dataset.href;
  if (href) window.location.assign(href);
}

/** Fills the list: `items` are { label, detail, href, best }. */
function show(items, note) {
  list.textContent = "";
  items.forEach((item, i) => {
    const li = el("li", { id: "q-opt-" + i, role: "option", "aria-selected": "false", "data-href": item.href, class: item.best ? "best" : "" });
    if (item.best) li.append(el("span", { class: "badge", text: "Best match" }), " ");
    li.append(el("span", { class: "label", text: item.label }));
    if (item.detail) li.append(el("span", { class: "detail", text: item.detail }));
    li.addEventListener("mousedown", (ev) => ev.preventDefault());
    li.addEventListener("click", () => go(li));
    list.append(li);
  });
  active = -1;
  input.removeAttribute("aria-activedescendant");
  open(items.length > 0);
  if (status) {
    status.textContent = (note ? note + " " : "") + (items.length
      ? items.length + (items.length === 1 ? " suggestion" : " suggestions") + ". Use the up and down arrows to choose, Enter to open."
      : "No suggestions. Press Enter to search.");
  }
}

function outcomeLabel(o) {
  return { fixed: "fixed", workaround: "workaround", not_fixed: "not fixed", escalated: "escalated" }[o] || "";
}

function fromServer(data) {
  const items = [];
  if (data.status_code) {
    items.push({ label: data.status_code.name + " (" + data.status_code.hex + ")", detail: data.status_code.description,
      href: "/search?" + new URLSearchParams({ q: data.query }).toString() });
  }
  const bestUrl = data.best_match ? data.best_match.url : null;
  data.hits.filter((h) => h.answer || h.url === bestUrl).forEach((h) => {
    const facts = h.kind === "case" && h.outcome ? outcomeLabel(h.outcome) + ", filed " + (h.created_at || "").slice(0, 10) : "";
    items.push({ label: (h.kind === "case" ? "Case: " : "") + h.title, detail: facts, href: h.url, best: h.url === bestUrl });
  });
  return items;
}

function fromPhone(q, r) {
  const items = [];
  if (r.code) items.push({ label: r.code.name + " (" + r.code.hex + ")", detail: r.code.description, href: "/search?" + new URLSearchParams({ q }).toString() });
  r.hits.filter((h) => h.answer).slice(0, 6).forEach((h) => items.push({ label: h.guide.title, href: h.guide.url, best: h === r.bestMatch }));
  return items;
}

async function suggest(q) {
  const mine = ++seq;
  let items, note = "";
  try {
    if (!navigator.onLine) throw new Error("offline");
    const res = await fetch("/api/search?limit=6&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error("HTTP " + res.status);
    items = fromServer(await res.json());
  } catch (e) {
    const r = await searchOffline(q);
    items = fromPhone(q, r);
    note = "Offline: searching " + guidesSaved(r.guideCount) + " saved on this phone.";
  }
  if (mine === seq) show(items, note);
}

if (input && list) {
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < MIN_CHARS) { seq++; list.textContent = ""; open(false); return; }
    timer = setTimeout(() => suggest(q), DELAY_MS);
  });
  input.addEventListener("keydown", (ev) => {
    const opts = options();
    if (ev.key === "ArrowDown") {
      if (!opts.length) return;
      ev.preventDefault();
      open(true);
      setActive(active + 1 >= opts.length ? 0 : active + 1);
    } else if (ev.key === "ArrowUp") {
      if (!opts.length) return;
      ev.preventDefault();
      open(true);
      setActive(active <= 0 ? opts.length - 1 : active - 1);
    } else if (ev.key === "Enter" && active >= 0 && !list.hidden) {
      ev.preventDefault();
      go(opts[active]);
    } else if (ev.key === "Escape" && !list.hidden) {
      ev.preventDefault();
      open(false);
    }
  });
  input.addEventListener("blur", () => setTimeout(() => open(false), 150));
  input.addEventListener("focus", () => { if (options().length && input.value.trim().length >= MIN_CHARS) open(true); });
}

// ----- the results page, offline --------------------------------------------------------------

/**
 * The service worker answers a search it cannot send with the saved, empty search page; the
 * query is still in the address. Then the phone searches what it has and says so.
 */
async function offlineResults(box) {
  const q = new URLSearchParams(window.location.search).get("q") || "";
  if (!q.trim()) return;
  if (input) input.value = q;
  document.title = q + " · offline · faultbook";
  const r = await searchOffline(q);
  box.textContent = "";
  const guides = guidesSaved(r.guideCount);
  box.append(el("section", { class: "notice offline-notice", role: "status", "data-offline-notice": "" },
    el("h1", { text: "You are offline" }),
    el("p", { text: "Searching " + guides + " saved on this phone and the OPC UA status codes. Search again when the network is back to see every guide and past case." })));

  if (r.bestMatch) {
    box.append(el("section", { class: "bestmatch", "aria-labelledby": "offline-best-h", "data-best-match": "" },
      el("h2", { id: "offline-best-h", text: "Best match on this phone" }),
      el("a", { class: "title", href: r.bestMatch.guide.url, text: r.bestMatch.guide.title })));
  }
  if (r.code) {
    const card = el("section", { class: "statuscard", "aria-label": "OPC UA status code" },
      el("h2", {}, el("code", { text: r.code.name })),
      el("p", { class: "meta", text: r.code.severity + " · " + r.code.hex + " · " + r.code.decimal + " · signed " + r.code.signed }),
      el("p", { text: r.code.description }));
    if (r.code.guides && r.code.guides.length) {
      const ul = el("ul");
      r.code.guides.forEach((g) => ul.append(el("li", {}, el("a", { href: g.url, text: g.title }))));
      card.append(el("p", { text: "Guides for this code:" }), ul);
    }
    box.append(card);
  }

  const hitItem = (h) => el("li", {}, el("a", { class: "title", href: h.guide.url, text: h.guide.title }));
  const answers = r.hits.filter((h) => h.answer && h !== r.bestMatch);
  const rest = r.hits.filter((h) => !h.answer);
  if (answers.length) {
    const ol = el("ol", { class: "hits" });
    answers.forEach((h) => ol.append(hitItem(h)));
    box.append(el("h2", { class: "answers-h", text: r.bestMatch ? "Other saved guides that may fit" : "Saved guides that may fit" }), ol);
  }
  if (!r.bestMatch && !answers.length) {
    box.append(el("section", { class: "noguide", "aria-labelledby": "offline-noguide-h" },
      el("h2", { id: "offline-noguide-h", text: "No guide yet on this phone" }),
      el("p", { text: "None of the guides saved on this phone fits. There may be one on the server: search again when the network is back, or file a case now; it is sent when the network is back." }),
      el("p", {}, el("a", { class: "btn btn-primary button", href: fileCaseHref(q), "data-file-case": "", text: "File a case" }))));
  }
  if (rest.length) {
    const ol = el("ol", { class: "hits" });
    rest.forEach((h) => ol.append(hitItem(h)));
    box.append(el("details", { class: "mentions" }, el("summary", { text: "Also mentions these words (" + rest.length + ")" }), ol));
  }
}

const offlineBox = document.querySelector("[data-offline-results]");
if (offlineBox && !offlineBox.hasAttribute("data-searched")) offlineResults(offlineBox);
