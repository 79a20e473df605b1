// Guide editor: keeps what was typed in this browser until the server has saved it, so a lost
// session, a crash or a closed tab costs nothing (the page after a save names the draft to
// drop), and uploads a screenshot into the body where the cursor is. Without this script the
// form posts normally.

/** Not kept as fields: the form token belongs to the session, the base revision is kept apart. */
const NOT_KEPT = ["csrf_token", "base_revision"];
const SAVE_DELAY_MS = 300;

// Private mode or a full quota throws on access or on write: the form must keep working.
function storage() {
  try { return window.localStorage; } catch (e) { return null; }
}
const store = storage();
function read(key) {
  if (!store) return null;
  try { return JSON.parse(store.getItem(key) || "null"); } catch (e) { return null; }
}
function write(key, value) {
  if (!store) return;
  try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full: keep going */ }
}
function forget(key) {
  if (!store) return;
  try { store.removeItem(key); } catch (e) { /* nothing to clear */ }
}

/** Today just the time, else the date too. */
function when(ms) {
  const d = new Date(ms);
  if (d.toDateString() === new Date().toDateString()) return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function init(form) {
  const key = form.getAttribute("data-draft-key");
  if (!key) return;
  const serverRevision = form.getAttribute("data-server-revision") || "";
  const note = document.querySelector("[data-draft-note]");
  const body = form.querySelector("textarea[name=body]");
  const base = form.querySelector("[name=base_revision]");

  function fields() {
    return Array.prototype.filter.call(form.elements, (el) =>
      el.name && NOT_KEPT.indexOf(el.name) === -1 &&
      el.type !== "file" && el.type !== "submit" && el.type !== "button" && el.type !== "reset");
  }
  function save() {
    const values = {};
    fields().forEach((el) => { values[el.name] = el.value; });
    // The revision the text builds on: an older one once an older draft was brought back.
    write(key, { savedAt: Date.now(), revision: base ? base.value : serverRevision, fields: values });
  }
  let timer = 0;
  function saveSoon() {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = 0; save(); }, SAVE_DELAY_MS);
  }
  // A submit or a closed tab within the debounce must not lose the last keystrokes.
  function saveNow() {
    if (!timer) return;
    clearTimeout(timer);
    timer = 0;
    save();
  }

  function showNote(savedAt, older) {
    if (!note) return;
    note.textContent = "";
    const p = document.createElement("p");
    const t = document.createElement("time");
    t.dateTime = new Date(savedAt).toISOString();
    t.textContent = when(savedAt);
    p.append("Your unsaved text from ", t, " was restored.");
    if (older) p.append(" The guide changed since you started: saving shows you what changed meanwhile.");
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "btn btn-secondary";
    discard.textContent = "Discard my draft";
    discard.addEventListener("click", () => {
      clearTimeout(timer);
      timer = 0;
      forget(key);
      // A fresh GET, not reload(): after a refused POST a reload would send the form again.
      window.location.replace(window.location.pathname + window.location.search);
    });
    note.append(p, discard);
    note.setAttribute("role", "status");
    note.hidden = false;
  }

  function restore() {
    const draft = read(key);
    if (!draft || typeof draft !== "object" || !draft.fields || typeof draft.fields !== "object") return;
    let changed = false;
    fields().forEach((el) => {
      const value = draft.fields[el.name];
      if (typeof value !== "string" || value === el.value) return;
      el.value = value;
      changed = true;
    });
    if (!changed) return;
    // Started on an older revision: send that one, so the server shows the diff instead of
    // quietly overwriting what someone saved in between.
    const older = !!(base && draft.revision && draft.revision !== serverRevision);
    if (older) base.value = draft.revision;
    showNote(Number(draft.savedAt) || Date.now(), older);
  }

  // A preview, a lint refusal or a conflict shows the text just sent: that is the draft now
  // (after a conflict, based on the revision whose changes the page shows).
  if (document.querySelector("#form-errors, #lint-faults, #conflict, #preview")) save();
  else restore();
  form.addEventListener("input", saveSoon);
  form.addEventListener("change", saveSoon);
  form.addEventListener("submit", saveNow);
  window.addEventListener("pagehide", saveNow);

  const picker = form.querySelector("input[type=file][data-guide-image]");
  const status = document.querySelector("[data-image-status]");
  function say(text) {
    if (!status) return;
    status.setAttribute("role", "status");
    status.textContent = text;
  }
  if (picker && body) {
    // The big "Add a screenshot" label is the control now; the case form's rule hides the bare input.
    document.documentElement.classList.add("js-photos");
    const tools = form.querySelector("[data-image-tools]");
    if (tools) tools.hidden = false;
    picker.addEventListener("change", () => {
      const file = picker.files && picker.files[0];
      if (!file) return;
      const csrf = form.querySelector("[name=csrf_token]");
      const data = new FormData();
      data.append("image", file, file.name);
      say("Uploading " + file.name + "…");
      fetch("/guides/images", {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: csrf ? { "X-CSRF-Token": csrf.value } : {},
      }).then((res) => res.text().then((text) => {
        let json = null;
        try { json = JSON.parse(text); } catch (e) { /* a plain-text answer */ }
        if (res.status === 201 && json && typeof json.markdown === "string") {
          // An image is a block of its own: never glued into the middle of a sentence.
          const at = body.selectionStart;
          const before = at > 0 && body.value[at - 1] !== "\n" ? "\n\n" : "";
          const after = body.value[body.selectionEnd] === "\n" ? "\n" : "\n\n";
          body.setRangeText(before + json.markdown + after, at, body.selectionEnd, "end");
          body.focus();
          body.dispatchEvent(new Event("input", { bubbles: true }));
          say("Screenshot added to the text.");
        } else {
          say("Not uploaded: " + ((json && json.error) || text.trim() || "the server answered " + res.status));
        }
      })).catch(() => say("Not uploaded: no connection. Try again when the network is back."))
        .then(() => { picker.value = ""; });
    });
  }
}

document.querySelectorAll("[data-clear-draft]").forEach((el) => {
  const key = el.getAttribute("data-clear-draft");
  if (key) forget(key);
});
document.querySelectorAll("form[data-guide-editor]").forEach(init);
