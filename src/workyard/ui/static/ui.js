"use strict";
// Keeps a dashboard page live: every data-refresh milliseconds, fetch the page again (only its
// content, via the X-Workyard-Partial header) and swap it into main#content. #refresh-toggle
// pauses and resumes. Hidden tabs do not refresh.
(() => {
  const main = document.getElementById("content");
  const toggle = document.getElementById("refresh-toggle");
  const every = Number(main ? main.dataset.refresh : 0) || 0;
  if (!main || every <= 0) return;
  let live = true;
  let busy = false;

  async function refresh() {
    if (!live || busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(location.href, {
        headers: { "X-Workyard-Partial": "1" },
        credentials: "same-origin",
      });
      if (response.redirected) {
        location.href = response.url; // the login expired
        return;
      }
      if (response.ok && live) main.innerHTML = await response.text();
    } catch (error) {
      // The server is unreachable for now; the next tick tries again.
    } finally {
      busy = false;
    }
  }

  if (toggle) {
    toggle.addEventListener("click", () => {
      live = !live;
      toggle.textContent = live ? "Pause" : "Resume";
      if (live) refresh();
    });
  }
  setInterval(refresh, every);
})();
