// faultbook: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Copy buttons: any element with data-copy puts that text on the clipboard.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn) return;
    var text = btn.getAttribute("data-copy");
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

// Case form: keep what was typed on this phone until the server accepts the case, shrink
// photos before upload, queue the case when there is no connection. Without this script the
// form posts normally.
(function () {
  "use strict";
  var form = document.querySelector("[data-case-form]");
  if (!form || !window.localStorage) return;
  var key = form.getAttribute("data-draft-key");
  var state = form.querySelector("[data-send-state]");

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "file" && el.type !== "hidden" && el.type !== "submit";
    });
  }
  function save() {
    var data = {};
    fields().forEach(function (el) {
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value; }
      else data[el.name] = el.value;
    });
    var keyField = form.querySelector("[name=idempotency_key]");
    if (keyField) data.idempotency_key = keyField.value;
    try { localStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* storage full: keep going */ }
  }
  function restore() {
    var raw = null;
    try { raw = localStorage.getItem(key); } catch (e) { return; }
    if (!raw) return;
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    fields().forEach(function (el) {
      if (!(el.name in data)) return;
      if (el.type === "radio") el.checked = data[el.name] === el.value;
      else if (!el.value) el.value = data[el.name];
    });
    // The same key on a resend: a case that did reach the server is not filed twice.
    var keyField = form.querySelector("[name=idempotency_key]");
    if (keyField && data.idempotency_key) keyField.value = data.idempotency_key;
  }
  restore();
  form.addEventListener("input", save);
  form.addEventListener("change", save);

  var errors = document.getElementById("form-errors");
  if (errors) errors.focus();

  function say(text) { if (state) state.textContent = text; }

  // Longest side 2560 px, JPEG: a 12 MP phone photo becomes a few hundred KB.
  function shrink(file) {
    if (!window.createImageBitmap || !file.type || file.type.indexOf("image/") !== 0) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
      var max = 2560, scale = Math.min(1, max / Math.max(bmp.width, bmp.height));
      if (scale === 1 && file.size < 1500000) return file;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  function queue(data, photos, button) {
    var fieldsList = [];
    data.forEach(function (v, k) { if (typeof v === "string") fieldsList.push([k, v]); });
    var entry = {
      key: data.get("idempotency_key") || String(Date.now()),
      action: form.action,
      draftKey: key,
      fields: fieldsList,
      photos: photos.map(function (p) { return { name: p.name || "photo.jpg", blob: p }; }),
      queuedAt: new Date().toISOString(),
    };
    return outbox.put(entry).then(function () {
      if (button) button.disabled = false;
      say("Queued: there is no connection, so this case is saved on this phone and will be sent by itself when the network is back. Do not file it again.");
      outbox.refresh();
      if (navigator.serviceWorker && window.SyncManager) {
        navigator.serviceWorker.ready.then(function (reg) { return reg.sync.register("send-cases"); }).catch(function () { /* no Background Sync */ });
      }
    });
  }

  form.addEventListener("submit", function (ev) {
    if (!window.fetch || !window.FormData) return;
    ev.preventDefault();
    save();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    say("Sending…");
    var data = new FormData(form);
    var photos = data.getAll("photo").filter(function (f) { return f && f.size; });
    data["delete"]("photo");
    Promise.all(photos.map(shrink)).then(function (files) {
      if (!navigator.onLine && outbox) return queue(data, files, button);
      var send = new FormData();
      data.forEach(function (v, k) { send.append(k, v); });
      files.forEach(function (f) { send.append("photo", f, f.name); });
      return fetch(form.action, { method: "POST", body: send, credentials: "same-origin" }).then(function (res) {
        if (res.redirected && res.url.indexOf("/cases/") !== -1) {
          try { localStorage.removeItem(key); } catch (e) { /* nothing to clear */ }
          window.location.href = res.url;
          return;
        }
        return res.text().then(function (html) {
          // The server re-rendered the form with its reasons; show it, the draft stays saved.
          document.open();
          document.write(html);
          document.close();
        });
      }, function () {
        if (outbox) return queue(data, files, button);
        if (button) button.disabled = false;
        say("Not sent: no connection. Everything you typed is kept on this phone. Press Send again when the network is back.");
      });
    });
  });
})();

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
