// Progressive enhancement only: every page works without this file.
"use strict";

// Copy buttons: copy the text of the element named by data-copy.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  event.preventDefault();
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.textContent.trim();
  const done = () => {
    button.textContent = "Copied";
    button.dataset.copied = text;
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, done);
  } else {  // plain-http demo: select the text so Ctrl-C works
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the selection stays */ }
    done();
  }
});

// Countdown to expiry.
function tick() {
  for (const el of document.querySelectorAll("time.countdown")) {
    const left = Math.max(0, Math.round((Date.parse(el.dateTime) - Date.now()) / 1000));
    const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    el.textContent = left === 0 ? "now" :
      `in ${h ? `${h}:${String(m).padStart(2, "0")}` : m}:${String(s).padStart(2, "0")}`;
  }
}
setInterval(tick, 1000); tick();

// Live order page: poll the small status document; when something changed, fetch the
// page again and swap its content in place (no reload, no script from the server).
async function refreshMain() {
  const r = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
  if (!r.ok) return false;
  const doc = new DOMParser().parseFromString(await r.text(), "text/html");
  const fresh = doc.querySelector("main");
  if (!fresh) return false;
  document.querySelector("main").replaceWith(fresh);
  tick();
  return true;
}

function watchOrder() {
  const live = document.querySelector("[data-status-url]");
  if (!live || !["waiting", "active"].includes(live.dataset.status)) return;
  const url = live.dataset.statusUrl;
  let seen = null;
  const poll = async () => {
    try {
      const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (r.ok) {
        const s = await r.json();
        const key = `${s.status}|${s.messages}|${s.value}`;
        if (seen !== null && key !== seen && await refreshMain()) { watchOrder(); return; }
        seen = key;
      }
    } catch (e) { /* offline: try again */ }
    setTimeout(poll, 1500);
  };
  poll();
}
watchOrder();

// Admin dashboard: refresh the figures every few seconds.
const figures = document.querySelector("[data-figures-url]");
if (figures) {
  setInterval(async () => {
    try {
      const r = await fetch(figures.dataset.figuresUrl, { credentials: "same-origin" });
      if (!r.ok) return;
      const data = await r.json();
      for (const el of figures.querySelectorAll("[data-figure]")) {
        const v = data[el.dataset.figure];
        if (v === undefined) continue;
        el.textContent = "percent" in el.dataset ? `${Math.round(v * 100)}%` :
          (Number.isInteger(v) ? String(v) : v.toFixed(1));
      }
    } catch (e) { /* try again */ }
  }, 5000);
}
