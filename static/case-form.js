// Case form: keeps what was typed on this phone until the server accepts the case (and says so
// when it brings an old draft back, with a way to discard it), fills "when" with the phone's
// time and site, line and cell with the last ones used on this phone, keeps the photos when the
// server sends the form back, shrinks photos before upload, and queues the case when there is
// no connection. Without this script the form posts normally.
import { photoPicker } from "./photo-picker.js";
import { similarCases } from "./similar-cases.js";
import { keptPhoto } from "./photo-handoff.js";

const outbox = window.faultbookOutbox || null;
const PLACE_KEY = "faultbook:place";
const PLACE_FIELDS = ["site", "line", "cell"];
/** A draft older than this is dropped rather than brought back. */
const DRAFT_MAX_AGE_MS = 14 * 24 * 3600 * 1000;
/** What a value must look like to be brought back from a draft (else it is left out). */
const VALID = {
  hour_meter: /^\s*\d+([.,]\d+)?\s*$/,
  part_count: /^\s*\d+\s*$/,
};

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

/** The phone's local time as a datetime-local value: 2026-11-20T14:03. */
function localNow() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function ago(ms) {
  const min = Math.round(ms / 60000);
  if (min < 1) return "just now";
  if (min < 60) return min + " min ago";
  const h = Math.round(min / 60);
  if (h < 24) return h + " h ago";
  return Math.round(h / 24) + " d ago";
}

function labelOf(form, el) {
  const l = form.querySelector(`label[for="${el.id}"]`);
  return l ? l.textContent.replace(/\(required\)/, "").trim() : el.name;
}

function init(form, keptPhotos) {
  const key = form.getAttribute("data-draft-key");
  const refused = form.hasAttribute("data-refused");
  const state = form.querySelector("[data-send-state]");
  const note = document.querySelector("[data-draft-note]");
  const keyField = form.querySelector("[name=idempotency_key]");
  const input = form.querySelector("input[type=file][name=photo]");
  const picker = input ? photoPicker(input, form.querySelector("[data-photo-list]")) : null;

  if (picker && keptPhotos && keptPhotos.length) {
    picker.set(keptPhotos);
    const kept = document.querySelector("[data-photos-kept]");
    if (kept) kept.textContent = keptPhotos.length === 1 ? "Your photo is still attached." : `Your ${keptPhotos.length} photos are still attached.`;
  }

  function fields() {
    return Array.prototype.filter.call(form.elements, (el) =>
      el.name && el.type !== "file" && el.type !== "hidden" && el.type !== "submit" && el.type !== "button");
  }
  function save() {
    const data = { savedAt: Date.now() };
    fields().forEach((el) => {
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value; }
      else if (el.type === "checkbox") data[`${el.name}=${el.value}`] = el.checked;
      else data[el.name] = el.value;
    });
    if (keyField) data.idempotency_key = keyField.value;
    write(key, data);
  }
  function say(text) { if (state) state.textContent = text; }

  /** Fills what this phone knows: the time now, the last site, line and cell. */
  function deviceDefaults() {
    const when = form.querySelector("[name=alarm_at]");
    if (when && !when.value) when.value = localNow();
    const place = read(PLACE_KEY) || {};
    PLACE_FIELDS.forEach((name) => {
      const el = form.querySelector(`[name=${name}]`);
      if (el && !el.value && typeof place[name] === "string") el.value = place[name];
    });
  }
  function rememberPlace() {
    const place = {};
    PLACE_FIELDS.forEach((name) => {
      const el = form.querySelector(`[name=${name}]`);
      if (el) place[name] = el.value.trim();
    });
    write(PLACE_KEY, place);
  }

  function showNote(savedAt, dropped) {
    if (!note) return;
    note.textContent = "";
    const p = document.createElement("p");
    // Drafts kept by an older version of this page carry no time.
    p.textContent = `Restored the case you started on this phone ${savedAt ? ago(Date.now() - savedAt) : "earlier"}.`;
    if (dropped.length) p.textContent += ` Left out because they are not valid: ${dropped.join(", ")}.`;
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "btn btn-secondary";
    discard.textContent = "Discard draft";
    discard.addEventListener("click", () => {
      forget(key);
      fields().forEach((el) => {
        if (el.type === "radio" || el.type === "checkbox") el.checked = el.defaultChecked; else el.value = el.defaultValue;
        el.removeAttribute("aria-invalid");
      });
      if (keyField) keyField.value = keyField.defaultValue;
      deviceDefaults();
      note.textContent = "";
      const done = document.createElement("p");
      done.textContent = "Draft discarded: this is a new case.";
      note.appendChild(done);
      const alarm = form.querySelector("#verbatim_alarm");
      if (alarm) alarm.focus();
    });
    note.append(p, discard);
    note.hidden = false;
  }

  /** Brings back an unsent draft into the empty fields of a fresh form; says so. */
  function restore() {
    const data = read(key);
    if (!data || typeof data !== "object") return;
    const savedAt = Number(data.savedAt) || 0;
    if (savedAt && Date.now() - savedAt > DRAFT_MAX_AGE_MS) { forget(key); return; }
    const dropped = [];
    let restored = 0;
    fields().forEach((el) => {
      if (el.type === "checkbox") {
        if (data[`${el.name}=${el.value}`] === true && !el.checked) { el.checked = true; restored++; }
        return;
      }
      if (!(el.name in data) || typeof data[el.name] !== "string") return;
      const value = data[el.name];
      if (el.type === "radio") {
        if (!form.querySelector(`[name="${el.name}"]:checked`) && value === el.value) { el.checked = true; restored++; }
        return;
      }
      if (el.value || !value) return;
      if (VALID[el.name] && !VALID[el.name].test(value)) { dropped.push(labelOf(form, el)); return; }
      el.value = value;
      // The browser refuses a value its input cannot hold (a date in another shape).
      if (el.value !== value) { dropped.push(labelOf(form, el)); el.value = ""; return; }
      if (el.name !== "filed_by") restored++;
    });
    // The same key on a resend: a case that did reach the server is not filed twice.
    if (keyField && typeof data.idempotency_key === "string" && data.idempotency_key) keyField.value = data.idempotency_key;
    if (restored || dropped.length) showNote(savedAt, dropped);
  }

  if (!refused) {
    restore();
    deviceDefaults();
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  similarCases(form);

  const errors = document.getElementById("form-errors");
  if (errors) errors.focus();

  // Longest side 2560 px, JPEG: a 12 MP phone photo becomes a few hundred KB.
  function shrink(file) {
    if (!window.createImageBitmap || !file.type || file.type.indexOf("image/") !== 0) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then((bmp) => {
      const max = 2560, scale = Math.min(1, max / Math.max(bmp.width, bmp.height));
      if (scale === 1 && file.size < 1500000) return file;
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      return new Promise((resolve) => {
        canvas.toBlob((blob) => {
          resolve(blob ? new File([blob], (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      });
    }).catch(() => file);
  }

  function queue(data, photos, button) {
    const fieldsList = [];
    data.forEach((v, k) => { if (typeof v === "string") fieldsList.push([k, v]); });
    const entry = {
      key: data.get("idempotency_key") || String(Date.now()),
      action: form.action,
      draftKey: key,
      fields: fieldsList,
      photos: photos.map((p) => ({ name: p.name || "photo.jpg", blob: p })),
      queuedAt: new Date().toISOString(),
    };
    return outbox.put(entry).then(() => {
      if (button) button.disabled = false;
      say("Queued: there is no connection, so this case is saved on this phone and will be sent by itself when the network is back. Do not file it again.");
      outbox.refresh();
      if (navigator.serviceWorker && window.SyncManager) {
        navigator.serviceWorker.ready.then((reg) => reg.sync.register("send-cases")).catch(() => { /* no Background Sync */ });
      }
    });
  }

  /** The server sent the page back (the form with its reasons, or another answer): show it in
   * place, keeping the photos, which a browser never fills back into a file input. */
  function showAnswer(html, res, originals) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.querySelector("main");
    const main = document.querySelector("main");
    if (!fresh || !main) {
      document.open();
      document.write(html);
      document.close();
      return;
    }
    document.title = doc.title;
    main.innerHTML = fresh.innerHTML;
    const again = main.querySelector("[data-case-form]");
    if (again) init(again, originals);
    else if (res.ok) forget(key); // a receipt (an open-intake tablet): the case is filed
    window.scrollTo(0, 0);
    const focus = main.querySelector("#form-errors") || main.querySelector("h1");
    if (focus) { if (!focus.hasAttribute("tabindex")) focus.setAttribute("tabindex", "-1"); focus.focus(); }
  }

  form.addEventListener("submit", (ev) => {
    if (!window.fetch || !window.FormData) return;
    ev.preventDefault();
    save();
    rememberPlace();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    say("Sending…");
    const data = new FormData(form);
    const originals = picker ? picker.files() : data.getAll("photo").filter((f) => f && f.size);
    data.delete("photo");
    Promise.all(originals.map(shrink)).then((files) => {
      if (!navigator.onLine && outbox) return queue(data, files, button);
      const send = new FormData();
      data.forEach((v, k) => send.append(k, v));
      files.forEach((f) => send.append("photo", f, f.name));
      return fetch(form.action, { method: "POST", body: send, credentials: "same-origin" }).then((res) => {
        if (res.redirected && res.url.indexOf("/cases/") !== -1) {
          forget(key);
          window.location.href = res.url;
          return;
        }
        return res.text().then((html) => showAnswer(html, res, originals));
      }, () => {
        if (outbox) return queue(data, files, button);
        if (button) button.disabled = false;
        say("Not sent: no connection. Everything you typed and your photos are kept on this phone. Press Send again when the network is back.");
      });
    });
  });
}

const form = document.querySelector("[data-case-form]");
if (form) {
  // Opened from a photo search: the photo of the alarm comes along.
  if (new URLSearchParams(window.location.search).get("photo") === "kept") {
    keptPhoto(true).then((blob) => {
      const photos = blob ? [new File([blob], blob.name || "alarm.jpg", { type: blob.type || "image/jpeg" })] : null;
      init(form, photos);
    });
  } else {
    init(form, null);
  }
}
