// The dashboard: reads the agent's own /v1 API with the token kept in sessionStorage and
// builds the page from DOM nodes (text is never parsed as HTML). Routes are URL fragments:
// #/jobs, #/job/ID?namespace=NS, #/allocation/ID, #/nodes, #/servers.
"use strict";
(() => {
  const TOKEN_KEY = "deploy.ui.token";
  const WAIT = "60s"; // blocking query wait
  let current = null; // AbortController of the page on screen

  // ---- DOM and formatting helpers ----
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else el.setAttribute(k, v);
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  const link = (href, text) => h("a", { href }, text);
  const enc = encodeURIComponent;
  const short = (id) => String(id || "").slice(0, 8);
  const STATUS_CLASS = {
    running: "s-ok", ready: "s-ok", healthy: "s-ok", complete: "s-ok", successful: "s-ok",
    eligible: "s-ok", leader: "s-ok", alive: "s-ok",
    pending: "s-warn", starting: "s-warn", blocked: "s-warn", draining: "s-warn",
    initializing: "s-warn", ineligible: "s-warn", follower: "s-info", queued: "s-warn",
    failed: "s-bad", lost: "s-bad", down: "s-bad", dead: "s-muted", stopped: "s-muted",
    canceled: "s-muted", disconnected: "s-bad", unhealthy: "s-bad",
  };
  function status(text) {
    const t = String(text || "unknown");
    return h("span", { class: "status " + (STATUS_CLASS[t.toLowerCase()] || "s-muted") }, t);
  }
  function facts(pairs) {
    return h("dl", { class: "facts" }, pairs.filter((p) => p).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }
  function table(headers, rows, empty) {
    if (!rows.length) return h("p", { class: "muted" }, empty || "None.");
    return h("table", {},
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { "data-label": headers[i] }, c))))));
  }
  function when(ns) {
    if (!ns) return "";
    const ms = typeof ns === "number" && ns > 1e15 ? ns / 1e6 : Date.parse(ns);
    return isNaN(ms) ? String(ns) : new Date(ms).toLocaleString();
  }
  const kv = (m) => Object.entries(m || {}).map(([k, v]) => k + "=" + v).join(", ");
  const present = (nodes) => nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false);
  function render(...nodes) {
    const main = document.getElementById("main");
    main.replaceChildren(...present(nodes));
  }
  function section(id) { return h("div", { id }); }
  function fill(id, ...nodes) {
    const el = document.getElementById(id);
    if (el) el.replaceChildren(...present(nodes));
  }

  // ---- The API ----
  class ApiError extends Error {
    constructor(status, text, path) {
      super(text || "HTTP " + status);
      this.status = status;
      this.path = path;
    }
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
  async function api(path, opts = {}) {
    let url = path;
    if (opts.index) url += (url.includes("?") ? "&" : "?") + "index=" + opts.index + "&wait=" + WAIT;
    const headers = {};
    if (token()) headers["X-Nomad-Token"] = token();
    const resp = await fetch(url, { headers, signal: opts.signal, cache: "no-store" });
    const body = await resp.text();
    if (!resp.ok) throw new ApiError(resp.status, body.trim(), path);
    return { data: JSON.parse(body), index: Number(resp.headers.get("X-Nomad-Index") || 0) };
  }
  function explain(err) {
    if (err instanceof ApiError && err.status === 403) {
      return h("p", { class: "error", id: "denied" },
        "Permission denied for " + err.path + " (" + err.message + "). " +
        (token() ? "This token's policies do not allow it." : "Enter an ACL token above."));
    }
    return h("p", { class: "error" }, "Could not load " + (err.path || "the page") + ": " + err.message);
  }
  const sleep = (ms, signal) => new Promise((res) => {
    const t = setTimeout(res, ms);
    if (signal) signal.addEventListener("abort", () => { clearTimeout(t); res(); });
  });

  // Runs `path` as a blocking query until the page goes away: `onData` after every change.
  // At most one request per blocking return; after an error, waits before asking again.
  async function watch(signal, path, onData, liveId) {
    let index = 0;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const res = await api(path, { index, signal });
        if (res.index !== index) await onData(res.data);
        if (res.index === index && Date.now() - started < 1000) await sleep(1000, signal);
        index = res.index;
        fill(liveId, "live: updated " + new Date().toLocaleTimeString());
      } catch (err) {
        if (signal.aborted) return;
        fill(liveId, explain(err));
        await sleep(3000, signal);
      }
    }
  }

  // ---- Pages ----
  async function jobsPage(signal) {
    // Each namespace the token may list (a policy for one namespace cannot list "*").
    const { data: spaces } = await api("/v1/namespaces", { signal });
    const lists = await Promise.all(spaces.map((ns) =>
      api("/v1/jobs?namespace=" + enc(ns.Name), { signal }).then((r) => r.data, (err) => err)));
    const refused = lists.filter((l) => l instanceof Error);
    if (refused.length && refused.length === lists.length) throw refused[0];
    const data = lists.filter((l) => !(l instanceof Error)).flat();
    const rows = data.map((j) => {
      const sum = Object.values((j.JobSummary || {}).Summary || {}).reduce((a, g) => {
        for (const k of ["Queued", "Starting", "Running", "Failed", "Complete", "Lost"]) a[k] = (a[k] || 0) + (g[k] || 0);
        return a;
      }, {});
      const href = "#/job/" + enc(j.ID) + "?namespace=" + enc(j.Namespace || "default");
      return [link(href, j.Name || j.ID), j.Namespace || "default", j.Type, status(j.Status),
        String(j.Version ?? ""), kv(sum)];
    });
    render(h("h1", {}, "Jobs"),
      table(["Job", "Namespace", "Type", "Status", "Version", "Allocations"], rows, "No jobs."));
  }

  function failureBlock(group, m) {
    const items = [];
    const filtered = m.ConstraintFiltered || {};
    for (const [c, n] of Object.entries(filtered)) {
      items.push(h("li", {}, "Constraint ", h("code", {}, c), " filtered " + n + " node" + (n === 1 ? "" : "s")));
    }
    for (const [c, n] of Object.entries(m.ClassFiltered || {})) {
      items.push(h("li", {}, "Node class ", h("code", {}, c), " filtered " + n));
    }
    for (const [d, n] of Object.entries(m.DimensionExhausted || {})) {
      items.push(h("li", {}, "Resources exhausted: ", h("code", {}, d), " on " + n + " node" + (n === 1 ? "" : "s")));
    }
    if (!items.length && !m.NodesEvaluated) items.push(h("li", {}, "No ready node in the job's datacenters and node pool."));
    const more = m.CoalescedFailures ? " (" + (m.CoalescedFailures + 1) + " allocations)" : "";
    return h("div", { class: "failure" },
      h("strong", {}, "Task group " + group + " could not be placed" + more + "."),
      h("div", {}, "Nodes evaluated: " + (m.NodesEvaluated || 0) + ", filtered: " + (m.NodesFiltered || 0) +
        ", exhausted: " + (m.NodesExhausted || 0) + ", available: " + kv(m.NodesAvailable)),
      h("ul", {}, items));
  }

  async function jobPage(signal, id, ns) {
    const q = "?namespace=" + enc(ns);
    const base = "/v1/job/" + enc(id);
    render(h("h1", {}, "Job " + id), h("p", { class: "live", id: "live" }, "live"),
      section("job-facts"), h("h2", {}, "Allocations"), section("job-allocs"),
      h("h2", {}, "Evaluations"), section("job-evals"));
    const showJob = async () => {
      const { data: j } = await api(base + q, { signal });
      fill("job-facts",
        facts([["Status", status(j.Status)], ["Type", j.Type], ["Version", String(j.Version ?? "")],
          ["Namespace", j.Namespace], ["Datacenters", (j.Datacenters || []).join(", ")]]),
        h("h2", {}, "Task groups"),
        table(["Group", "Count", "Tasks"], (j.TaskGroups || []).map((g) =>
          [g.Name, String(g.Count ?? 1), (g.Tasks || []).map((t) => t.Name + " (" + t.Driver + ")").join(", ")])));
    };
    const allocs = (list) => {
      fill("job-allocs", table(["Allocation", "Group", "Node", "Desired", "Status", "Healthy"],
        list.map((a) => [link("#/allocation/" + enc(a.ID), short(a.ID)), a.TaskGroup, a.NodeName || short(a.NodeID),
          a.DesiredStatus, status(a.ClientStatus),
          a.DeploymentStatus && a.DeploymentStatus.Healthy !== undefined && a.DeploymentStatus.Healthy !== null
            ? status(a.DeploymentStatus.Healthy ? "healthy" : "unhealthy") : ""]), "No allocations."));
      return showJob();
    };
    const evals = (list) => {
      // The newest evaluation that failed a placement says why the job is short now; older
      // ones repeat or predate it.
      const failed = list.filter((e) => e.Status !== "canceled" && Object.keys(e.FailedTGAllocs || {}).length)
        .sort((a, b) => (b.ModifyIndex || 0) - (a.ModifyIndex || 0))[0];
      const failures = failed ? [h("h3", {}, "Placement failures (evaluation " + short(failed.ID) + ", " + failed.Status + ")"),
        Object.entries(failed.FailedTGAllocs).map(([g, m]) => failureBlock(g, m))] : [];
      fill("job-evals",
        h("div", { id: "placement-failures" }, failures.length ? failures : []),
        table(["Evaluation", "Triggered by", "Status", "Description", "Modified"],
          list.map((e) => [short(e.ID), e.TriggeredBy, status(e.Status), e.StatusDescription || "",
            when(e.ModifyTime)]), "No evaluations."));
    };
    await showJob();
    watch(signal, base + "/allocations" + q, allocs, "live");
    watch(signal, base + "/evaluations" + q, evals, "live");
  }

  async function followLog(signal, allocId, task, kind) {
    const out = document.getElementById("log");
    out.textContent = "";
    const url = "/v1/client/fs/logs/" + enc(allocId) + "?task=" + enc(task) + "&type=" + kind +
      "&origin=start&offset=0&plain=true&follow=true";
    const headers = token() ? { "X-Nomad-Token": token() } : {};
    try {
      const resp = await fetch(url, { headers, signal, cache: "no-store" });
      if (!resp.ok) throw new ApiError(resp.status, (await resp.text()).trim(), url.split("?")[0]);
      const reader = resp.body.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out.append(dec.decode(value, { stream: true }));
        out.scrollTop = out.scrollHeight;
      }
    } catch (err) {
      if (!signal.aborted) out.after(explain(err));
    }
  }

  async function allocationPage(signal, id) {
    render(h("h1", {}, "Allocation " + short(id)), h("p", { class: "live", id: "live" }, "live"),
      section("alloc-facts"), h("h2", {}, "Tasks"), section("alloc-tasks"), h("h2", {}, "Log"), section("alloc-log"));
    let logTask = null;
    let logAbort = null;
    const startLog = (task, kind) => {
      if (logAbort) logAbort.abort();
      logAbort = new AbortController();
      signal.addEventListener("abort", () => logAbort.abort());
      const pick = h("select", { id: "log-task" }, Object.keys(tasksOf).map((t) =>
        h("option", t === task ? { selected: "" } : {}, t)));
      const type = h("select", { id: "log-type" }, ["stdout", "stderr"].map((k) =>
        h("option", k === kind ? { selected: "" } : {}, k)));
      const change = () => startLog(pick.value, type.value);
      pick.addEventListener("change", change);
      type.addEventListener("change", change);
      fill("alloc-log", h("p", {}, "Task ", pick, " stream ", type, " (followed live)"), h("pre", { class: "log", id: "log" }));
      followLog(logAbort.signal, id, task, kind);
    };
    let tasksOf = {};
    const show = (a) => {
      tasksOf = a.TaskStates || {};
      const job = a.Job || {};
      fill("alloc-facts", facts([
        ["ID", h("code", {}, a.ID)],
        ["Job", link("#/job/" + enc(a.JobID) + "?namespace=" + enc(a.Namespace || "default"), a.JobID)],
        ["Group", a.TaskGroup], ["Node", a.NodeName || a.NodeID],
        ["Client status", h("span", { id: "client-status" }, status(a.ClientStatus))],
        ["Desired", a.DesiredStatus], ["Job version", String(job.Version ?? a.JobVersion ?? "")],
        a.ClientDescription ? ["Description", a.ClientDescription] : null,
      ]));
      fill("alloc-tasks", Object.entries(tasksOf).map(([name, t]) => h("div", { class: "task" },
        h("h3", {}, name + " ", status(t.State), t.Failed ? " " : "", t.Failed ? status("failed") : ""),
        facts([["Restarts", String(t.Restarts || 0)], ["Started", when(t.StartedAt)], t.FinishedAt ? ["Finished", when(t.FinishedAt)] : null]),
        table(["Time", "Event", "Message"], (t.Events || []).slice().reverse().map((e) =>
          [when(e.Time), e.Type, e.DisplayMessage || e.Message || ""]), "No events yet."))));
      const names = Object.keys(tasksOf);
      if (!logTask && names.length) {
        logTask = names[0];
        startLog(logTask, "stdout");
      }
    };
    const { data } = await api("/v1/allocation/" + enc(id), { signal });
    show(data);
    watch(signal, "/v1/allocation/" + enc(id), show, "live");
  }

  async function nodesPage(signal) {
    const { data } = await api("/v1/nodes", { signal });
    const full = await Promise.all(data.slice(0, 100).map((n) =>
      api("/v1/node/" + enc(n.ID), { signal }).then((r) => r.data)));
    const more = data.length > full.length ? "Showing the first " + full.length + " of " + data.length + " nodes." : null;
    render(h("h1", {}, "Nodes"), more && h("p", { class: "muted" }, more), full.length ? full.map((n) => {
      const res = n.NodeResources || {};
      const drivers = Object.entries(n.Drivers || {}).filter(([, d]) => d.Detected)
        .map(([k, d]) => k + (d.Healthy ? "" : " (unhealthy)"));
      return h("div", { class: "node" },
        h("h2", {}, n.Name + " ", status(n.Status)),
        facts([["ID", h("code", {}, n.ID)], ["Address", n.HTTPAddr || ""], ["Datacenter", n.Datacenter],
          ["Class", n.NodeClass || "(none)"], ["Node pool", n.NodePool || "default"],
          ["Eligibility", status(n.SchedulingEligibility)], ["Drain", n.Drain ? status("draining") : "no"],
          ["Drivers", drivers.join(", ") || "(none)"],
          ["CPU", ((res.Cpu || {}).CpuShares || 0) + " MHz"], ["Memory", ((res.Memory || {}).MemoryMB || 0) + " MiB"],
          ["Disk", ((res.Disk || {}).DiskMB || 0) + " MiB"], ["Meta", kv(n.Meta) || "(none)"]]));
    }) : h("p", { class: "muted" }, "No nodes."));
  }

  async function serversPage(signal) {
    const [{ data: raft }, { data: self }] = await Promise.all([
      api("/v1/operator/raft/configuration", { signal }), api("/v1/agent/self", { signal })]);
    const st = (self.stats || {}).raft || {};
    const nomad = (self.stats || {}).nomad || {};
    render(h("h1", {}, "Servers"),
      h("h2", {}, "This server"),
      facts([["Name", (self.config || {}).NodeName || ""], ["Raft role", status(st.state)], ["Term", st.term],
        ["Last log index", st.last_log_index], ["Applied index", st.applied_index],
        ["Peers", st.num_peers], ["Leader", nomad.leader_addr || "(none known)"]]),
      h("h2", {}, "Raft configuration"),
      table(["ID", "Address", "Role", "Voter"], (raft.Servers || []).map((s) =>
        [h("code", {}, s.ID), s.Address, status(s.Leader ? "leader" : "follower"), s.Voter ? "yes" : "no"])));
  }

  // ---- Routing ----
  async function route() {
    if (current) current.abort();
    current = new AbortController();
    const signal = current.signal;
    const [path, query] = (location.hash.replace(/^#/, "") || "/jobs").split("?");
    const params = new URLSearchParams(query || "");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    render(h("p", { class: "muted" }, "Loading…"));
    try {
      if (parts[0] === "job" && parts[1]) await jobPage(signal, parts[1], params.get("namespace") || "default");
      else if (parts[0] === "allocation" && parts[1]) await allocationPage(signal, parts[1]);
      else if (parts[0] === "nodes") await nodesPage(signal);
      else if (parts[0] === "servers") await serversPage(signal);
      else await jobsPage(signal);
    } catch (err) {
      if (!signal.aborted) render(explain(err));
    }
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
    window.addEventListener("hashchange", route);
    route();
  }
  document.addEventListener("DOMContentLoaded", init);
})();
