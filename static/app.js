// faultbook: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Copy buttons: any element with data-copy puts that text on the clipboard; data-copy-from
  // names the element whose text to copy (a secret shown once stays on the page once).
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy], [data-copy-from]");
    if (!btn) return;
    var from = btn.getAttribute("data-copy-from");
    var source = from ? document.getElementById(from) : null;
    var text = source ? source.textContent.trim() : btn.getAttribute("data-copy");
    if (text === null) return;
    var done = function () {
      var old = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = old; }, 1200);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  });

  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "absolute";
    ta.style.left = "-9999px";
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(ta);
  }

  // Search as you type lives in search.js, loaded as a module by the pages with a search box.
})();

// Offline outbox: cases submitted without a connection wait in IndexedDB (with their photos
// and idempotency key) and are sent when the network is back; the key makes a replayed send
// return the first case instead of filing a second one.
var outbox = (function () {
  "use strict";
  if (!window.indexedDB) return null;
  function db() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open("faultbook", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("outbox", { keyPath: "key" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction("outbox", mode);
        var result = fn(t.objectStore("outbox"));
        t.oncomplete = function () { resolve(result && result.result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  var api = {
    put: function (entry) { return tx("readwrite", function (s) { return s.put(entry); }); },
    remove: function (key) { return tx("readwrite", function (s) { return s["delete"](key); }); },
    all: function () { return tx("readonly", function (s) { return s.getAll(); }); },
  };
  var sending = false;
  function banner(text) {
    var el = document.getElementById("outbox-status");
    if (!el) {
      el = document.createElement("p");
      el.id = "outbox-status";
      el.className = "outbox";
      el.setAttribute("role", "status");
      var main = document.getElementById("main");
      if (main) main.insertBefore(el, main.firstChild);
    }
    el.textContent = text;
    el.hidden = !text;
  }
  api.refresh = function () {
    return api.all().then(function (items) {
      var waiting = items.filter(function (i) { return !i.failed; }).length;
      var failed = items.length - waiting;
      var parts = [];
      if (waiting) parts.push(waiting + (waiting === 1 ? " case is" : " cases are") + " saved on this device and will be sent when the network is back.");
      if (failed) parts.push(failed + (failed === 1 ? " case was" : " cases were") + " refused by the server; open the form again to correct it.");
      if (needsLogin && waiting) parts.push("Log in again to send them.");
      banner(parts.join(" "));
      return items;
    });
  };
  // The form token saved with a case belongs to the session it was typed in; the phone may have
  // logged in again since, so ask for the current one before sending.
  function currentToken() {
    return fetch("/api/csrf", { credentials: "same-origin", cache: "no-store" })
      .then(function (res) { return res.ok ? res.json() : {}; })
      .then(function (j) { return j.csrf_token || ""; }, function () { return ""; });
  }
  var needsLogin = false;
  api.send = function () {
    if (sending) return Promise.resolve();
    sending = true;
    needsLogin = false;
    return api.all().then(function (items) {
      var pending = items.filter(function (i) { return !i.failed; });
      if (!pending.length) return;
      return currentToken().then(function (token) {
        return pending.reduce(function (chain, item) {
        return chain.then(function () {
          var data = new FormData();
          item.fields.forEach(function (f) { data.append(f[0], f[1]); });
          item.photos.forEach(function (p) { data.append("photo", p.blob, p.name); });
          var headers = token ? { "X-CSRF-Token": token } : {};
          return fetch(item.action, { method: "POST", body: data, headers: headers, credentials: "same-origin" }).then(function (res) {
            if (res.ok || res.redirected) {
              try { localStorage.removeItem(item.draftKey); } catch (e) { /* nothing to clear */ }
              return api.remove(item.key);
            }
            // Logged out meanwhile: keep the case until the person logs in again.
            if (res.status === 401) { needsLogin = true; return; }
            if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
              item.failed = res.status;
              return api.put(item);
            }
          });
        });
        }, Promise.resolve());
      });
    }).catch(function () { /* still offline: try again later */ })
      .then(function () { sending = false; return api.refresh(); });
  };
  window.addEventListener("online", function () { api.send(); });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (ev) {
      if (ev.data && ev.data.type === "send-cases") api.send();
    });
  }
  return api;
})();
window.faultbookOutbox = outbox;

if (navigator.serviceWorker && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js").catch(function () { /* the site works without it */ });
}
if (outbox) {
  if (navigator.onLine) outbox.send(); else outbox.refresh();
}

// The case form lives in case-form.js (loaded by the form page only).

// Logging out clears the pages this device kept for offline use: a guide page kept while logged
// in shows the plant's case record. Cases waiting to be sent stay (they are in IndexedDB).
(function () {
  document.querySelectorAll('form[action="/logout"], form[action="/account/logout-everywhere"]').forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.caches || form.dataset.cleared) return;
      ev.preventDefault();
      var go = function () { form.dataset.cleared = "1"; form.submit(); };
      caches.keys().then(function (keys) {
        return Promise.all(keys.map(function (k) { return caches["delete"](k); }));
      }).then(go, go);
    });
  });
})();
