// faultbook service worker: keeps the app shell, the guides already visited and the case form
// available when plant Wi-Fi drops. Pages: network first, cache as fallback. Assets under
// /static/<version>/ never change, so cache first.
"use strict";
const CACHE = "faultbook-v2";
const SHELL = ["/", "/guides", "/cases/new"];

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

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
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
      if (keepable(res)) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
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
