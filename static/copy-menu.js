// Copy menus (details.copymenu): one open at a time, closed by Escape (focus back on its
// control) or a click elsewhere. The copying itself is app.js's data-copy handler.
const menus = Array.from(document.querySelectorAll("details.copymenu"));

menus.forEach((menu) => {
  menu.addEventListener("toggle", () => {
    if (!menu.open) return;
    menus.forEach((other) => { if (other !== menu) other.open = false; });
  });
  menu.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || !menu.open) return;
    menu.open = false;
    const summary = menu.querySelector("summary");
    if (summary) summary.focus();
  });
});

document.addEventListener("click", (ev) => {
  menus.forEach((menu) => { if (menu.open && !menu.contains(ev.target)) menu.open = false; });
});
