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

  // Search as you type: ask /api/search after a short pause and show the top hits.
  var input = document.querySelector("[data-live-search]");
  var box = document.querySelector("[data-live-results]");
  if (!input || !box || !window.fetch) return;
  var timer = null, seq = 0;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) { box.textContent = ""; return; }
    timer = setTimeout(function () { run(q); }, 180);
  });

  function run(q) {
    var mine = ++seq;
    fetch("/api/search?limit=6&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || mine !== seq) return;
        render(data);
      })
      .catch(function () { /* offline: the form still works */ });
  }

  function render(data) {
    box.textContent = "";
    var list = document.createElement("ol");
    if (data.status_code) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/search?q=" + encodeURIComponent(data.query);
      a.textContent = data.status_code.name + " (" + data.status_code.hex + "): " + data.status_code.description;
      li.appendChild(a);
      list.appendChild(li);
    }
    data.hits.forEach(function (h) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = h.url;
      a.textContent = (h.kind === "case" ? "Case: " : "") + h.title;
      li.appendChild(a);
      list.appendChild(li);
    });
    if (!list.children.length) {
      var none = document.createElement("li");
      none.textContent = "Nothing yet. Press Enter for the full search.";
      none.style.padding = "0.6rem 0.75rem";
      list.appendChild(none);
    }
    box.appendChild(list);
  }
})();

// Case form: keep what was typed on this phone until the server accepts the case, shrink
// photos before upload, and say plainly when sending failed. Without this script the form
// posts normally.
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

  form.addEventListener("submit", function (ev) {
    if (!window.fetch || !window.FormData) return;
    ev.preventDefault();
    save();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    say("Sending…");
    var data = new FormData(form);
    var photos = data.getAll("photo").filter(function (f) { return f && f.size; });
    data.delete("photo");
    Promise.all(photos.map(shrink)).then(function (files) {
      files.forEach(function (f) { data.append("photo", f, f.name); });
      return fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
    }).then(function (res) {
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
    }).catch(function () {
      if (button) button.disabled = false;
      say("Not sent: no connection. Everything you typed is kept on this phone. Press Send again when the network is back.");
    });
  });
})();
