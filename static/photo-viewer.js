// Photo viewer: a tap on a thumbnail of [data-photo-viewer] opens the photo full size in an
// overlay with close, previous and next (also Escape and the arrow keys, and a swipe). Without
// this script the thumbnail links to the photo itself.
function viewer(list) {
  const links = Array.from(list.querySelectorAll("a[href]"));
  if (!links.length || !window.HTMLDialogElement) return;
  let index = 0;
  let opener = null;
  const dialog = document.createElement("dialog");
  dialog.className = "viewer";
  dialog.setAttribute("aria-label", "Photo viewer");
  dialog.innerHTML =
    '<div class="viewer-bar"><p aria-live="polite" data-count></p>' +
    '<span><a class="btn btn-secondary" data-original target="_blank" rel="noopener">Original</a> ' +
    '<button type="button" class="btn" data-close>Close</button></span></div>' +
    '<div class="viewer-stage"><img alt=""></div>' +
    '<div class="viewer-nav"><button type="button" class="btn" data-prev>Previous</button>' +
    '<button type="button" class="btn" data-next>Next</button></div>';
  document.body.appendChild(dialog);
  const img = dialog.querySelector("img");
  const count = dialog.querySelector("[data-count]");
  const original = dialog.querySelector("[data-original]");
  const prev = dialog.querySelector("[data-prev]");
  const next = dialog.querySelector("[data-next]");

  function show(i) {
    index = (i + links.length) % links.length;
    const a = links[index];
    img.src = a.href;
    const thumb = a.querySelector("img");
    img.alt = thumb ? thumb.alt : "Photo " + (index + 1);
    original.href = a.href;
    count.textContent = "Photo " + (index + 1) + " of " + links.length;
    prev.hidden = next.hidden = links.length < 2;
  }
  function close() { dialog.close(); }
  dialog.addEventListener("close", () => { img.removeAttribute("src"); if (opener) opener.focus(); });
  dialog.querySelector("[data-close]").addEventListener("click", close);
  prev.addEventListener("click", () => show(index - 1));
  next.addEventListener("click", () => show(index + 1));
  dialog.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowLeft") { ev.preventDefault(); show(index - 1); }
    if (ev.key === "ArrowRight") { ev.preventDefault(); show(index + 1); }
  });
  let startX = null;
  img.addEventListener("touchstart", (ev) => { startX = ev.touches[0].clientX; }, { passive: true });
  img.addEventListener("touchend", (ev) => {
    if (startX === null) return;
    const dx = ev.changedTouches[0].clientX - startX;
    if (Math.abs(dx) > 50) show(index + (dx < 0 ? 1 : -1));
    startX = null;
  });
  links.forEach((a, i) => a.addEventListener("click", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    opener = a;
    show(i);
    dialog.showModal();
    dialog.querySelector("[data-close]").focus();
  }));
}

document.querySelectorAll("[data-photo-viewer]").forEach(viewer);
