// Progressive enhancement only: every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  event.preventDefault();
  const source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
});

// Countdown to expiry.
function tick() {
  for (const el of document.querySelectorAll("time.countdown")) {
    const left = Math.max(0, Math.round((Date.parse(el.dateTime) - Date.now()) / 1000));
    el.textContent = `in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  }
}
setInterval(tick, 1000); tick();

// Live updates: reload the order page when its status changes.
const live = document.querySelector("[data-status-url]");
if (live && (live.dataset.status === "waiting" || live.dataset.status === "active")) {
  let seen = null;
  const poll = async () => {
    try {
      const r = await fetch(live.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (r.ok) {
        const s = await r.json();
        const key = `${s.status}|${s.messages}`;
        if (seen !== null && key !== seen) { location.reload(); return; }
        seen = key;
      }
    } catch (e) { /* offline: try again */ }
    setTimeout(poll, 2000);
  };
  poll();
}
