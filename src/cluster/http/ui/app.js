// The dashboard's script. The agent renders every page (GET /ui/page/<route>, escaped by its
// templates); this keeps the ACL token in sessionStorage, sends it as X-Nomad-Token, puts the
// page on screen, asks again with ?index=N on live pages (the agent answers when the data
// moves: a blocking query, no faster polling), and follows a task's log.
// Routes are URL fragments: #/jobs, #/job/ID?namespace=NS, #/allocation/ID, #/nodes, ...
"use strict";
(() => {
  const TOKEN_KEY = "deploy.ui.token";
  let current = null; // AbortController of the page on screen
  let logAbort = null; // AbortController of the followed log

  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  const headers = () => (token() ? { "X-Nomad-Token": token() } : {});
  const enc = encodeURIComponent;
  const sleep = (ms, signal) => new Promise((res) => {
    const t = setTimeout(res, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); res(); });
  });
  function note(text) {
    const el = document.querySelector("[data-live]");
    if (el) el.textContent = text;
  }

  // Puts a rendered page on screen. A log already followed for the same task is kept, so
  // live updates do not restart it.
  function place(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const log = document.getElementById("log");
    const next = doc.getElementById("log");
    if (log && next && ["alloc", "task", "type"].every((k) => log.dataset[k] === next.dataset[k])) {
      next.replaceWith(log);
    }
    document.getElementById("main").replaceChildren(...doc.body.childNodes);
  }

  function followLog(signal) {
    const out = document.getElementById("log");
    if (!out || out.dataset.following) return;
    out.dataset.following = "1";
    if (logAbort) logAbort.abort();
    const mine = new AbortController();
    logAbort = mine;
    signal.addEventListener("abort", () => mine.abort());
    const url = "/v1/client/fs/logs/" + enc(out.dataset.alloc) + "?task=" + enc(out.dataset.task) +
      "&type=" + enc(out.dataset.type) + "&origin=start&offset=0&plain=true&follow=true";
    (async () => {
      try {
        const resp = await fetch(url, { headers: headers(), signal: mine.signal, cache: "no-store" });
        if (!resp.ok) {
          out.classList.add("refused");
          out.textContent = "The log was refused: HTTP " + resp.status + " " + (await resp.text()).trim();
          return;
        }
        const reader = resp.body.getReader();
        const dec = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          out.append(dec.decode(value, { stream: true }));
          out.scrollTop = out.scrollHeight;
        }
      } catch (err) {
        if (!mine.signal.aborted) out.append("\n[the log stream ended: " + err.message + "]");
      }
    })();
  }

  // Shows page `route` until another replaces it: again after each change on live pages.
  async function show(route, query, signal) {
    let index = 0;
    while (!signal.aborted) {
      const q = new URLSearchParams(query);
      if (index) q.set("index", index);
      const started = Date.now();
      let resp, html;
      try {
        resp = await fetch("/ui/page" + route + (q.toString() ? "?" + q : ""), { headers: headers(), signal, cache: "no-store" });
        html = await resp.text();
      } catch (err) {
        if (signal.aborted) return;
        note("connection lost (" + err.message + "); trying again");
        await sleep(3000, signal);
        continue;
      }
      if (signal.aborted) return;
      const next = Number(resp.headers.get("X-Nomad-Index") || 0);
      if (!index || next !== index) place(html);
      followLog(signal);
      if (!resp.ok || resp.headers.get("X-Deploy-Live") !== "1") return;
      note("live: updated " + new Date().toLocaleTimeString());
      if (next === index && Date.now() - started < 1000) await sleep(1000, signal);
      index = next;
    }
  }

  function route() {
    if (current) current.abort();
    current = new AbortController();
    const [path, query] = (location.hash.replace(/^#/, "") || "/jobs").split("?");
    const route = path.startsWith("/") ? path : "/" + path;
    // Only a page's own route: no dot segments that would leave /ui/page.
    if (route.split("/").some((s) => /^(\.|%2e)+$/i.test(s))) {
      location.hash = "#/jobs";
      return;
    }
    for (const a of document.querySelectorAll("nav a")) {
      a.classList.toggle("here", route.startsWith(a.getAttribute("href").slice(1).replace(/s$/, "")));
    }
    show(route, query || "", current.signal);
  }

  function init() {
    const form = document.getElementById("token-form");
    const input = document.getElementById("token");
    input.value = token();
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      route();
    });
    document.getElementById("token-clear").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      input.value = "";
      route();
    });
    // A page's form (comparing two versions) becomes a route.
    document.getElementById("main").addEventListener("submit", (ev) => {
      const f = ev.target;
      if (!f.dataset.hash) return;
      ev.preventDefault();
      location.hash = "#" + f.dataset.hash + "?" + new URLSearchParams(new FormData(f));
    });
    window.addEventListener("hashchange", route);
    route();
  }
  document.addEventListener("DOMContentLoaded", init);
})();
