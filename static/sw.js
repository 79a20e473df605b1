// faultbook service worker: keeps the app shell, the guides already visited and the case form
// available when plant Wi-Fi drops. Pages: network first, cache as fallback. Assets under
// /static/<version>/ never change, so cache first.
"use strict";
const CACHE = "faultbook-v3";
// "/search" (empty) is the page an offline search is answered with; its script searches the
// saved guides and the status-code table on the phone.
const SHELL = ["/", "/guides", "/cases/new", "/search", "/api/status-codes"];
const GUIDE_PAGE = /^\/guides\/[a-z0-9-]+$/;

// A page that answered with a redirect (the login page, for someone not logged in yet) is not
// kept: a browser refuses a redirected response for a navigation, and the page is not the one
// asked for. The case form is cached once the person has opened it logged in.
function keepable(res) {
  return res.ok && !res.redirected;
}

// The session ended (logged out elsewhere, expired, disabled): pages kept while logged in may
// show the plant's case record, so they go.
function forgetPrivatePages() {
  return caches.open(CACHE).then((cache) => cache.keys().then((reqs) => Promise.all(reqs.map((r) =>
    cache.match(r).then((res) => res && res.headers.get("x-faultbook-session") === "1" ? cache["delete"](r) : null)
  ))));
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => Promise.all(SHELL.map((path) =>
      fetch(path, { credentials: "same-origin" }).then((res) => keepable(res) ? cache.put(path, res) : null, () => null)
    ))).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function cacheable(url) {
  return url.origin === self.location.origin &&
    (url.pathname === "/" || url.pathname === "/guides" || url.pathname.startsWith("/guides/") ||
     url.pathname === "/cases/new" || url.pathname.startsWith("/static/"));
}

// A guide page kept for offline use brings its JSON along: offline search reads the title,
// alarm strings and text from it.
function keepGuideJson(url) {
  if (!GUIDE_PAGE.test(url.pathname)) return;
  const api = "/api/guides/" + url.pathname.slice("/guides/".length);
  fetch(api, { credentials: "same-origin" }).then((res) => {
    if (keepable(res)) return caches.open(CACHE).then((c) => c.put(api, res));
  }).catch(() => { /* offline again: the page alone is kept */ });
}

// Searches: always from the server when it answers (results may hold cases, so they are never
// kept). Without a network, the saved empty search page answers, and searches on the phone.
function keepIfMissing(path) {
  return caches.open(CACHE).then((c) => c.match(path).then((hit) => hit || fetch(path, { credentials: "same-origin" })
    .then((res) => keepable(res) ? c.put(path, res) : null)))
    .catch(() => null);
}

function searchOffline(req) {
  return fetch(req).then((res) => {
    // Logging out clears kept pages; searching again keeps the search page and code table.
    keepIfMissing("/search");
    keepIfMissing("/api/status-codes");
    return res;
  }).catch(() => caches.match("/search", { ignoreSearch: true }).then((shell) =>
    shell || new Response("<!doctype html><title>Offline</title><p>You are offline, and search was not saved on this device yet.</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } })));
}

// The status-code table: the server's when it answers (and kept), else the kept copy.
function statusCodes(req) {
  return fetch(req).then((res) => {
    if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put("/api/status-codes", copy)); }
    return res;
  }).catch(() => caches.match("/api/status-codes").then((hit) => hit ||
    new Response(JSON.stringify({ codes: [] }), { status: 503, headers: { "Content-Type": "application/json" } })));
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin === self.location.origin && url.pathname === "/search" && req.mode === "navigate") {
    event.respondWith(searchOffline(req));
    return;
  }
  if (url.origin === self.location.origin && url.pathname === "/api/status-codes") {
    event.respondWith(statusCodes(req));
    return;
  }
  if (!cacheable(url)) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(
      caches.match(req).then((hit) => hit || fetch(req).then((res) => {
        if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
        return res;
      }))
    );
    return;
  }
  event.respondWith(
    fetch(req).then((res) => {
      if (res.headers.get("x-faultbook-session") === "0") forgetPrivatePages();
      if (keepable(res)) {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(req, copy));
        keepGuideJson(url);
      }
      return res;
    }).catch(() => caches.match(req, { ignoreSearch: false }).then((hit) =>
      hit || caches.match(req, { ignoreSearch: true }).then((loose) =>
        loose || new Response("<!doctype html><title>Offline</title><p>You are offline and this page was not saved on this device yet.</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } })))
    )
  );
});

// Background Sync: the page registers "send-cases"; the queue itself is sent by the page code
// when a page is open, so here we only wake the open pages.
self.addEventListener("sync", (event) => {
  if (event.tag !== "send-cases") return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((clients) =>
    clients.forEach((c) => c.postMessage({ type: "send-cases" }))));
});
