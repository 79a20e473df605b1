// Times in the phone's own zone: every <time datetime data-time> reads "2 h ago" (or a local
// date when older than a week), with the full local time on hover and for screen readers;
// data-absolute shows the full local time itself. The server's text (UTC) stays without script.
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const short = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });

/** "just now", "5 min ago", "2 h ago", "3 d ago"; in the future "in 2 h". */
export function relative(then, now) {
  const secs = Math.round((now - then) / 1000);
  const future = secs < 0;
  const s = Math.abs(secs);
  let text;
  if (s < 45) return "just now";
  if (s < 3600) text = Math.max(1, Math.round(s / 60)) + " min";
  else if (s < 86400) text = Math.round(s / 3600) + " h";
  else text = Math.round(s / 86400) + " d";
  return future ? "in " + text : text + " ago";
}

function render(el, now) {
  const at = new Date(el.getAttribute("datetime"));
  if (isNaN(at)) return;
  const long = full.format(at);
  el.title = long;
  if (el.hasAttribute("data-absolute")) {
    el.textContent = short.format(at);
  } else if (Math.abs(now - at) < 7 * 86400 * 1000) {
    el.textContent = relative(at, now);
    el.setAttribute("aria-label", relative(at, now) + ", " + long);
  } else {
    el.textContent = short.format(at);
  }
}

export function renderTimes(root) {
  const now = Date.now();
  (root || document).querySelectorAll("time[data-time]").forEach((el) => render(el, now));
}

renderTimes(document);
setInterval(() => renderTimes(document), 60000);
// Pages swapped in place (a form sent back by the server) bring new times.
new MutationObserver(() => renderTimes(document)).observe(document.querySelector("main") || document.body, { childList: true });
