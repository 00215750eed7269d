// The otlpkit receiver's page: polls /api/status once a second and refreshes the open
// tab when the store's version changes. Plain DOM, no framework, text set with
// textContent only (span names and attributes are untrusted).
"use strict";

const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const MAX_INDENT = 30;
const state = { tab: "traces", version: -1, trace: null, span: null, view: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function get(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}

function nanos(value) { return BigInt(value); }

function duration(ns) {
  const n = Number(ns);
  if (n >= 1e9) return (n / 1e9).toFixed(2) + " s";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " ms";
  if (n >= 1e3) return (n / 1e3).toFixed(1) + " µs";
  return n + " ns";
}

function clock(ns) {
  const ms = Number(nanos(ns) / 1000000n);
  return ms > 0 ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "";
}

function attributeList(attributes) {
  const dl = el("dl");
  for (const a of attributes) {
    dl.append(el("dt", { text: a.key }), el("dd", { text: a.value, title: a.type }));
  }
  return dl;
}

// --- traces ------------------------------------------------------------------------------

async function refreshTraces() {
  const data = await get("/api/traces");
  const rows = document.getElementById("trace-rows");
  const fragment = document.createDocumentFragment();
  for (const t of data.traces) {
    const name = el("td", { title: t.traceId });
    if (t.errors > 0) name.append(el("span", { class: "error-mark", title: t.errors + " error span(s)" }));
    name.append(t.root || "(no root)");
    const row = el("tr", { "data-trace-id": t.traceId, class: t.traceId === state.trace ? "selected" : "" },
      name, el("td", { text: t.service }), el("td", { class: "num", text: duration(t.durationNanos) }),
      el("td", { class: "num", text: String(t.spans) }));
    row.addEventListener("click", () => selectTrace(t.traceId));
    fragment.append(row);
  }
  rows.replaceChildren(fragment);
  document.getElementById("no-traces").hidden = data.traces.length > 0;
  if (!state.trace && data.traces.length > 0) await selectTrace(data.traces[0].traceId);
  else if (state.trace) await loadTrace();
}

async function selectTrace(id) {
  state.trace = id;
  state.span = null;
  for (const row of document.querySelectorAll("#trace-rows tr")) {
    row.classList.toggle("selected", row.dataset.traceId === id);
  }
  await loadTrace();
}

async function loadTrace() {
  let view;
  try { view = await get("/api/traces/" + state.trace); } catch (e) { return; }
  state.view = view;
  renderWaterfall(view);
  if (state.span) await showSpan(state.span);
  else document.getElementById("details").replaceChildren();
}

function renderWaterfall(view) {
  const start = nanos(view.start);
  const total = Number(nanos(view.end) - start) || 1;
  const errors = view.spans.filter((s) => s.status.code === 2).length;
  document.getElementById("waterfall-head").replaceChildren(
    el("strong", { text: view.spans.length ? view.spans[0].name : "" }),
    document.createTextNode("  " + duration(total) + " · " + view.spans.length + " spans" +
      (errors ? " · " + errors + " errors" : "") +
      (view.droppedSpans ? " · " + view.droppedSpans + " spans not kept" : "")),
    el("div", { class: "ids", text: "trace " + view.traceId }));
  const axis = el("div", { class: "axis" }, el("div", { text: "span" }));
  const ticks = el("div", { class: "ticks" });
  for (let i = 0; i <= 4; i++) {
    const tick = el("span", { class: i === 4 ? "tick last" : "tick", text: duration(Math.round((total * i) / 4)) });
    tick.style.left = i * 25 + "%";
    ticks.append(tick);
  }
  axis.append(ticks);
  const fragment = document.createDocumentFragment();
  fragment.append(axis);
  for (const s of view.spans) {
    const offset = Number(nanos(s.start) - start);
    const length = Math.max(0, Number(nanos(s.end) - nanos(s.start)));
    const kind = KINDS[s.kind] || "unspecified";
    const error = s.status.code === 2;
    const label = el("div", { class: "span-name", title: s.name });
    label.style.paddingLeft = 0.5 + Math.min(s.depth, MAX_INDENT) * 0.9 + "rem";
    if (s.depth > MAX_INDENT) label.append(el("span", { class: "kind", text: "[" + s.depth + "] " }));
    label.append(el("span", { class: "label", text: s.name }), el("span", { class: "kind", text: kind }));
    const bar = el("div", { class: "bar " + kind + (error ? " error" : ""), title: duration(length) });
    const left = (offset / total) * 100;
    bar.style.left = left + "%";
    bar.style.width = (length / total) * 100 + "%";
    const end = left + (length / total) * 100;
    const text = el("span", { class: "bar-label", text: duration(length) });
    // Past 85% of the axis the label goes inside the bar's end.
    if (end > 85) { text.classList.add("inside"); text.style.right = "calc(" + (100 - end) + "% + 4px)"; }
    else text.style.left = "calc(" + end + "% + 4px)";
    const row = el("div", {
      class: "span-row" + (error ? " error" : "") + (s.spanId === state.span ? " selected" : ""),
      "data-span-id": s.spanId, "data-depth": String(s.depth), "data-name": s.name,
    }, label, el("div", { class: "bar-cell" }, bar, text));
    row.addEventListener("click", () => showSpan(s.spanId));
    fragment.append(row);
  }
  document.getElementById("waterfall").replaceChildren(fragment);
}

async function showSpan(spanId) {
  state.span = spanId;
  const view = state.view;
  const s = view && view.spans.find((x) => x.spanId === spanId);
  if (!s) return;
  for (const row of document.querySelectorAll(".span-row")) {
    row.classList.toggle("selected", row.dataset.spanId === spanId);
  }
  const resource = view.resources[s.resource] || { service: "", scope: "", attributes: [] };
  const facts = [
    { key: "span id", value: s.invalidSpanId ? (s.spanId ? s.spanId + " " : "") + "(invalid id: " + s.invalidSpanId + ")" : s.spanId },
    { key: "parent", value: s.parentSpanId + (s.parentMissing ? " (not received)" : "") },
    { key: "kind", value: KINDS[s.kind] || String(s.kind) },
    { key: "status", value: ["unset", "ok", "error"][s.status.code] + (s.status.message ? ": " + s.status.message : "") },
    { key: "duration", value: duration(nanos(s.end) - nanos(s.start)) },
    { key: "start", value: clock(s.start) },
    { key: "service", value: resource.service },
    { key: "scope", value: resource.scope },
  ];
  const details = [el("h2", { text: s.name }), attributeList(facts)];
  details.push(el("h3", { text: "Attributes" }), attributeList(s.attributes));
  if (s.events.length) {
    details.push(el("h3", { text: "Events" }));
    for (const e of s.events) {
      details.push(el("div", { class: "mono", text: clock(e.time) + "  " + e.name }), attributeList(e.attributes));
    }
  }
  if (s.links.length) {
    details.push(el("h3", { text: "Links" }));
    for (const l of s.links) details.push(el("div", { class: "mono", text: l.traceId + " / " + l.spanId }));
  }
  const logs = await get("/api/logs?trace=" + view.traceId + "&span=" + spanId);
  details.push(el("h3", { text: "Log records (" + logs.logs.length + ")" }));
  const list = el("table", { class: "log-table span-logs" });
  for (const l of logs.logs) list.append(logRow(l, false));
  details.push(list);
  details.push(el("h3", { text: "Resource" }), attributeList(resource.attributes));
  document.getElementById("details").replaceChildren(...details);
}

// --- logs --------------------------------------------------------------------------------

function logRow(l, ids) {
  const severity = l.severityText || String(l.severityNumber);
  const level = severity.toLowerCase().replace(/[0-9]/g, "");
  const body = el("td", { text: l.body });
  if (l.attributes.length) body.append(el("div", { class: "mono", text: l.attributes.map((a) => a.key + "=" + a.value).join("  ") }));
  const row = el("tr", { class: "sev-" + level }, el("td", { class: "mono", text: clock(l.time) }),
    el("td", { text: severity }));
  if (ids) row.append(el("td", { text: l.service }));
  row.append(body);
  if (ids) row.append(el("td", { class: "mono", text: l.traceId ? l.traceId.slice(0, 8) + "… / " + l.spanId : "" }));
  return row;
}

async function refreshLogs() {
  const data = await get("/api/logs?limit=500");
  const fragment = document.createDocumentFragment();
  for (const l of data.logs) fragment.append(logRow(l, true));
  document.getElementById("log-rows").replaceChildren(fragment);
}

// --- metrics -----------------------------------------------------------------------------

function sparkline(points) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 100 40");
  svg.setAttribute("preserveAspectRatio", "none");
  const values = points.map((p) => p[1]).filter((v) => v !== null);
  if (values.length < 2) return svg;
  const min = Math.min(...values), max = Math.max(...values), span = max - min || 1;
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", values.map((v, i) =>
    ((i / (values.length - 1)) * 100).toFixed(2) + "," + (38 - ((v - min) / span) * 36).toFixed(2)).join(" "));
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  return svg;
}

async function refreshMetrics() {
  const data = await get("/api/metrics");
  const fragment = document.createDocumentFragment();
  for (const m of data.metrics) {
    const attributes = m.attributes.map((a) => a.key + "=" + a.value).join(" ");
    fragment.append(el("div", { class: "metric-card", "data-metric": m.name },
      el("h3", { text: m.name }),
      el("div", { class: "meta", text: [m.kind, m.unit, m.service, attributes].filter(Boolean).join(" · ") }),
      el("div", { class: "latest", text: m.latest }),
      sparkline(m.points)));
  }
  document.getElementById("metric-cards").replaceChildren(fragment);
}

// --- live updates --------------------------------------------------------------------------

async function refresh() {
  if (state.tab === "traces") await refreshTraces();
  else if (state.tab === "logs") await refreshLogs();
  else await refreshMetrics();
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const s = await get("/api/status");
    status.textContent = s.kept.traces + " traces · " + s.kept.logRecords + " log records · " +
      s.kept.metricSeries + " metric series · " + (s.kept.bytes / 1048576).toFixed(1) + " MiB kept";
    status.className = "status live";
    if (s.version !== state.version) {
      // Only once the view is refreshed: a refused answer (503) is asked again next time.
      await refresh();
      state.version = s.version;
    }
  } catch (e) {
    status.textContent = "receiver not reachable";
    status.className = "status";
  }
  setTimeout(poll, 1000);
}

for (const button of document.querySelectorAll("nav button")) {
  button.addEventListener("click", () => {
    state.tab = button.dataset.tab;
    for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b === button);
    for (const section of document.querySelectorAll(".tab")) section.classList.toggle("active", section.id === state.tab);
    refresh();
  });
}
poll();
