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
