// Earlier cases with the same alarm, shown under the alarm box while the tech types: the picked
// cell's first, each with what was done and how it ended, one tap to open. Only forms rendered
// for people who may read cases carry the lookup URL; the API checks again.
const WAIT_MS = 350;

function text(tag, className, value) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.textContent = value;
  return el;
}

function place(c) {
  return [c.line, c.cell, c.asset].filter(Boolean).join(" · ") || c.site || "No place given";
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

function item(c) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = c.url;
  a.className = "similarcase";
  const head = document.createElement("span");
  head.className = "similarhead";
  head.append(text("span", `badge badge-${c.outcome}`, c.outcome_label), " ", text("span", "similarplace", place(c)));
  if (c.same_cell) head.append(" ", text("span", "tag", "this cell"));
  a.append(head, text("span", "similarfix", c.fix_applied || "No fix written down."), text("span", "meta", when(c.created_at)));
  li.append(a);
  return li;
}

export function similarCases(form) {
  const url = form.getAttribute("data-similar-url");
  const box = document.querySelector("[data-similar]");
  if (!url || !box || !window.fetch) return;
  const list = box.querySelector("[data-similar-list]");
  const note = box.querySelector("[data-similar-note]");
  const alarm = form.querySelector("[name=verbatim_alarm]");
  const cell = form.querySelector("[name=cell]");
  if (!alarm) return;
  let timer = 0;
  let asked = "";
  let current = null;

  function show(cases) {
    list.textContent = "";
    if (!cases.length) { box.hidden = true; return; }
    cases.forEach((c) => list.append(item(c)));
    note.textContent = cases.length === 1 ? "One earlier case with this alarm:" : `The last ${cases.length} cases with this alarm:`;
    box.hidden = false;
  }

  function lookup() {
    const q = new URLSearchParams({ alarm: alarm.value, cell: cell ? cell.value : "" });
    const key = q.toString();
    if (key === asked) return;
    asked = key;
    if (alarm.value.trim().length < 3) { show([]); return; }
    if (current) current.abort();
    current = window.AbortController ? new AbortController() : null;
    fetch(`${url}?${key}`, { credentials: "same-origin", signal: current ? current.signal : undefined, headers: { accept: "application/json" } })
      .then((res) => (res.ok ? res.json() : { cases: [] }))
      .then((body) => { if (key === asked) show(Array.isArray(body.cases) ? body.cases : []); })
      .catch(() => { /* offline or aborted: the form works without it */ });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(lookup, WAIT_MS);
  }
  alarm.addEventListener("input", soon);
  if (cell) cell.addEventListener("change", soon);
  if (alarm.value.trim()) lookup();
}
