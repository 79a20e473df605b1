// Search by photo: the camera button under the search box. The photo is read on the phone
// (photo-reading.js, loaded on first use with its engine), the line that holds the alarm goes
// into the search box and the search runs; every line read is offered as a chip on the results
// page, a box drawn around the alarm row reads it again, and the photo can go with a new case.
// The photo never leaves the phone unless the tech files it with a case.
import { keepPhotoForCase, keptPhoto } from "./photo-handoff.js";

const LINES_KEY = "faultbook:photo-lines";
function session() {
  try { return window.sessionStorage; } catch (e) { return null; }
}

function searchFor(form, text) {
  const q = form.querySelector("[name=q]");
  q.value = text;
  if (form.requestSubmit) form.requestSubmit(); else form.submit();
}

/** On the results page: the lines read from the photo, as chips that search for that line. */
function showChips(form) {
  const store = session();
  const box = document.querySelector("[data-photo-lines]");
  if (!store || !box) return;
  let kept = null;
  try { kept = JSON.parse(store.getItem(LINES_KEY) || "null"); } catch (e) { kept = null; }
  const q = form.querySelector("[name=q]");
  if (!kept || !Array.isArray(kept.lines) || !q || kept.query !== q.value) return;
  const list = box.querySelector("ul");
  list.textContent = "";
  kept.lines.forEach((line) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chip";
    b.textContent = line;
    if (line === kept.query) b.setAttribute("aria-pressed", "true");
    b.addEventListener("click", () => {
      store.setItem(LINES_KEY, JSON.stringify({ lines: kept.lines, query: line }));
      searchFor(form, line);
    });
    li.append(b);
    list.append(li);
  });
  const file = box.querySelector("[data-photo-case]");
  if (file) file.href = "/cases/new?photo=kept&alarm=" + encodeURIComponent(q.value);
  box.hidden = false;
}

function init() {
  const form = document.querySelector("[data-search-form]");
  const panel = document.querySelector("[data-photo-search]");
  if (!form || !panel || !window.createImageBitmap || !window.WebAssembly) return;
  const input = panel.querySelector("input[type=file]");
  const status = panel.querySelector("[data-photo-status]");
  const say = panel.querySelector("[data-photo-say]");
  const bar = panel.querySelector("progress");
  const fix = panel.querySelector("[data-photo-fix]");
  panel.hidden = false;
  showChips(form);

  let photo = null;
  function progress(text, value) {
    status.hidden = false;
    say.textContent = text;
    if (value == null) bar.removeAttribute("value"); else bar.value = value;
  }

  async function read(region) {
    progress(region ? "Reading the row you marked…" : "Finding the screen in your photo…", null);
    try {
      const reading = await import("./photo-reading.js");
      const result = await reading.readPhoto(photo, {
        region,
        onProgress: (p) => progress("Reading the text… " + Math.round(p * 100) + " %", p),
      });
      form.dispatchEvent(new CustomEvent("photo-search:read", { detail: {
        lines: result.lines, query: result.query, straightened: result.straightened, timings: result.timings,
      } }));
      if (!result.query) {
        progress("No text could be read. Mark the alarm row on the photo, or type it.", 0);
        offerFix();
        return;
      }
      const store = session();
      if (store) store.setItem(LINES_KEY, JSON.stringify({ lines: result.lines, query: result.query }));
      await keepPhotoForCase(photo);
      progress("Read: " + result.query, 1);
      searchFor(form, result.query);
    } catch (e) {
      progress("The photo could not be read here (" + (e && e.message ? e.message : "unknown error") + "). Type the alarm instead.", 0);
    }
  }

  /** Shows the photo; the tech drags a box around the alarm row and it is read again. */
  async function offerFix() {
    if (!photo) photo = await keptPhoto(false);
    if (!fix || !photo) return;
    fix.hidden = false;
    const canvas = fix.querySelector("canvas");
    createImageBitmap(photo, { imageOrientation: "from-image" }).then((bmp) => {
      const scale = Math.min(1, 1200 / bmp.width);
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      const ctx = canvas.getContext("2d");
      const draw = (box) => {
        ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
        if (box) { ctx.strokeStyle = "#f59e0b"; ctx.lineWidth = 4; ctx.strokeRect(box.x, box.y, box.w, box.h); }
      };
      draw(null);
      let from = null, box = null;
      const at = (ev) => {
        const r = canvas.getBoundingClientRect();
        return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
      };
      canvas.onpointerdown = (ev) => { from = at(ev); canvas.setPointerCapture(ev.pointerId); };
      canvas.onpointermove = (ev) => {
        if (!from) return;
        const [x, y] = at(ev);
        box = { x: Math.min(x, from[0]), y: Math.min(y, from[1]), w: Math.abs(x - from[0]), h: Math.abs(y - from[1]) };
        draw(box);
      };
      canvas.onpointerup = () => {
        from = null;
        if (!box || box.w < 10 || box.h < 6) return;
        read({ x: box.x / scale, y: box.y / scale, w: box.w / scale, h: box.h / scale });
      };
    });
  }

  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (!file) return;
    photo = file;
    if (fix) fix.hidden = true;
    read(null);
  });
  const mark = document.querySelector("[data-photo-mark]");
  if (mark) mark.addEventListener("click", () => { offerFix(); });
}

init();
