"use strict";
// Keeps a dashboard page live without re-rendering it:
// - every data-refresh milliseconds, the fragments marked data-live="NAME" are fetched again (the
//   page's own URL with "X-Workyard-Partial: NAME,…"; the answer holds one <template data-part>
//   per fragment) and swapped in place; #refresh-toggle pauses and resumes; hidden tabs wait;
// - ol#events[data-stream] follows the session's new events over SSE (EventSource resumes with
//   Last-Event-ID by itself) and appends them.
(() => {
  const main = document.getElementById("content");
  const toggle = document.getElementById("refresh-toggle");
  const every = Number(main ? main.dataset.refresh : 0) || 0;
  if (!main || every <= 0) return;
  let live = true;
  let busy = false;

  function fragments() {
    return Array.from(main.querySelectorAll("[data-live]"));
  }

  async function refresh() {
    const targets = fragments();
    if (!live || busy || document.hidden || targets.length === 0) return;
    busy = true;
    try {
      const names = targets.map((el) => el.dataset.live).join(",");
      const response = await fetch(location.href, {
        headers: { "X-Workyard-Partial": names },
        credentials: "same-origin",
      });
      if (response.redirected) {
        location.href = response.url; // the login expired
        return;
      }
      if (!response.ok || !live) return;
      const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const part of parsed.querySelectorAll("template[data-part]")) {
        const target = main.querySelector(`[data-live="${part.dataset.part}"]`);
        if (target) target.replaceChildren(document.importNode(part.content, true));
      }
    } catch (error) {
      // The server is unreachable for now; the next tick tries again.
    } finally {
      busy = false;
    }
  }


  function eventItem(card) {
    const item = document.createElement("li");
    item.className = `event ${card.type.split(".")[0]}`;
    item.dataset.type = card.type;
    item.dataset.id = card.id;
    const type = document.createElement("span");
    type.className = "type";
    type.textContent = card.type;
    const time = document.createElement("time");
    time.textContent = card.time;
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = card.text;
    item.append(type, " ", time, text);
    if (card.cut) {
      const full = document.createElement("a");
      full.className = "full";
      full.href = card.full;
      full.textContent = `Cut at ${card.text.length} characters: the full event (JSON)`;
      item.append(full);
    }
    return item;
  }

  function follow(list) {
    const after = list.dataset.after;
    const url = list.dataset.stream + (after ? `?after_id=${encodeURIComponent(after)}` : "");
    const source = new EventSource(url);
    const append = (message) => {
      const card = JSON.parse(message.data);
      if (list.querySelector(`li[data-id="${card.id}"]`)) return; // already on the page
      list.append(eventItem(card));
      list.dataset.after = card.id;
      const empty = document.getElementById("no-events");
      if (empty) empty.remove();
      refresh(); // the status may have changed with it
    };
    for (const type of (list.dataset.types || "").split(" ")) {
      if (type) source.addEventListener(type, append);
    }
    source.addEventListener("message", append); // a type this script does not know yet
    source.addEventListener("session.deleted", () => source.close());
  }

  const stream = main.querySelector("ol#events[data-stream]");
  if (stream) follow(stream);

  if (toggle) {
    toggle.addEventListener("click", () => {
      live = !live;
      toggle.textContent = live ? "Pause" : "Resume";
      if (live) refresh();
    });
  }
  setInterval(refresh, every);
})();
