// Labels form: remembers the last guide and place on this device (an empty form is filled
// with them), and a Print button.
const form = document.querySelector("[data-labels-form]");
const KEY = "faultbook:labels";
if (form) {
  const names = ["guide", "site", "line", "cell", "asset"];
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { saved = null; }
  const blank = names.every((n) => !form.elements[n] || !form.elements[n].value);
  if (saved && blank && !location.search) {
    names.forEach((n) => { if (form.elements[n] && typeof saved[n] === "string") form.elements[n].value = saved[n]; });
  }
  form.addEventListener("submit", () => {
    const data = {};
    names.forEach((n) => { if (form.elements[n]) data[n] = form.elements[n].value; });
    try { localStorage.setItem(KEY, JSON.stringify(data)); } catch (e) { /* storage full */ }
  });
  const print = form.querySelector("[data-print]");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", () => window.print());
  }
}
