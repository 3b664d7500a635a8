// The trace page: a list of recent traces and, for the chosen one, a waterfall.
// Plain DOM, no framework, no inline code (the page's CSP allows this file alone).
"use strict";

const API = "/_vitrine/traces/api/traces";
const AUTO_REFRESH_MS = 2000;
const INDENT_PX = 14;

const state = { selectedTrace: null, selectedSpan: null, timer: null, spans: [] };

function byId(id) {
  return document.getElementById(id);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function formatDuration(ns) {
  if (ns < 1e6) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

function formatTime(ns) {
  // UTC wall-clock time to the millisecond; nanoseconds past 2^53 lose nothing that matters here.
  return new Date(Math.floor(ns / 1e6)).toISOString().slice(11, 23);
}

function setStatus(text) {
  byId("status").textContent = text;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) {
    const error = (body.errors && body.errors[0]) || {};
    throw new Error(`${(error.extensions && error.extensions.code) || response.status}: ${error.message || ""}`);
  }
  return body;
}

// --- the list ------------------------------------------------------------------------------

function traceRow(trace) {
  const row = element("tr");
  row.dataset.traceId = trace.traceId;
  if (trace.traceId === state.selectedTrace) row.setAttribute("aria-selected", "true");
  const operation = element("td");
  const open = element("button", trace.name || "(root span still open)", "link");
  open.type = "button";
  open.title = `trace ${trace.traceId}`;
  open.addEventListener("click", () => showTrace(trace.traceId));
  operation.append(open);
  const status = element("td");
  if (trace.error) status.append(element("span", "error", "badge badge-error"));
  else status.append(element("span", "ok", "badge badge-ok"));
  if (trace.droppedSpans > 0) status.append(element("span", `${trace.droppedSpans} dropped`, "badge"));
  row.append(
    operation,
    element("td", formatTime(trace.startNs)),
    element("td", formatDuration(trace.durationNs), "num"),
    element("td", trace.spanCount, "num"),
    status,
  );
  return row;
}

async function loadList() {
  try {
    const body = await getJson(API);
    const rows = body.traces.map(traceRow);
    byId("trace-list").tBodies[0].replaceChildren(...rows);
    byId("no-traces").hidden = rows.length > 0;
    setStatus(`${rows.length} trace${rows.length === 1 ? "" : "s"} · updated ${new Date().toISOString().slice(11, 19)} UTC`);
  } catch (error) {
    setStatus(`could not load the traces (${error.message})`);
  }
}

// --- the waterfall -------------------------------------------------------------------------

function niceStep(totalNs, ticks) {
  const raw = totalNs / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) {
    if (raw <= factor * magnitude) return factor * magnitude;
  }
  return 10 * magnitude;
}

function drawAxis(totalNs) {
  const axis = byId("axis");
  const marks = [];
  if (totalNs > 0) {
    const step = niceStep(totalNs, 5);
    for (let at = 0; at <= totalNs; at += step) {
      const mark = element("span", at === 0 ? "0" : formatDuration(at), "tick");
      mark.style.left = `${(100 * at) / totalNs}%`;
      marks.push(mark);
    }
  }
  axis.replaceChildren(...marks);
}

function spanRow(span, totalNs) {
  const item = element("li");
  const row = element("button", null, `span-row cat-${span.category}`);
  row.type = "button";
  row.dataset.spanId = span.spanId;
  if (span.status.code === "ERROR") row.classList.add("failed");
  const label = element("span", span.name, "span-name");
  label.style.paddingLeft = `${span.depth * INDENT_PX}px`;
  const track = element("span", null, "track");
  const bar = element("span", null, "span-bar");
  const left = totalNs > 0 ? (100 * span.startOffsetNs) / totalNs : 0;
  const width = totalNs > 0 ? (100 * span.durationNs) / totalNs : 100;
  bar.style.left = `${left}%`;
  bar.style.width = `${Math.max(width, 0.3)}%`;
  const duration = element("span", formatDuration(span.durationNs), "span-duration");
  const end = left + Math.max(width, 0.3);
  if (end > 80 && left < 15) {
    // A bar across the whole axis carries its label inside.
    duration.classList.add("inside");
    duration.style.left = `${left}%`;
  } else if (end > 80) {
    // Near the right edge the label goes before the bar, where there is room.
    duration.classList.add("before");
    duration.style.right = `${100 - left}%`;
  } else {
    duration.style.left = `${end}%`;
  }
  track.append(bar, duration);
  row.append(label, track);
  row.addEventListener("click", () => showDetails(span));
  item.append(row);
  return item;
}

async function showTrace(traceId) {
  state.selectedTrace = traceId;
  state.selectedSpan = null;
  if (location.hash !== `#${traceId}`) history.replaceState(null, "", `#${traceId}`);
  for (const row of byId("trace-list").tBodies[0].rows) {
    row.toggleAttribute("aria-selected", row.dataset.traceId === traceId);
  }
  try {
    const trace = await getJson(`${API}/${traceId}`);
    state.spans = trace.spans;
    const dropped = trace.droppedSpans > 0 ? ` · ${trace.droppedSpans} spans dropped` : "";
    byId("trace-meta").textContent =
      `trace ${trace.traceId} · ${formatTime(trace.startNs)} UTC · ${formatDuration(trace.durationNs)} · ${trace.spans.length} spans${dropped}`;
    drawAxis(trace.durationNs);
    byId("spans").replaceChildren(...trace.spans.map((span) => spanRow(span, trace.durationNs)));
    clearDetails();
  } catch (error) {
    byId("trace-meta").textContent = `could not load trace ${traceId} (${error.message})`;
    byId("spans").replaceChildren();
    drawAxis(0);
  }
}

// --- the side panel ------------------------------------------------------------------------

function clearDetails() {
  byId("details-empty").hidden = false;
  byId("details-body").hidden = true;
}

function attributeRows(attributes) {
  return Object.keys(attributes)
    .sort()
    .map((name) => {
      const row = element("tr");
      const value = attributes[name];
      row.append(element("th", name), element("td", typeof value === "string" ? value : JSON.stringify(value)));
      row.firstChild.scope = "row";
      return row;
    });
}

function showDetails(span) {
  state.selectedSpan = span.spanId;
  for (const row of byId("spans").querySelectorAll(".span-row")) {
    row.setAttribute("aria-pressed", String(row.dataset.spanId === span.spanId));
  }
  byId("details-empty").hidden = true;
  byId("details-body").hidden = false;
  byId("details-name").textContent = span.name;
  const facts = [
    ["kind", span.kind],
    ["category", span.category],
    ["starts at", `+${formatDuration(span.startOffsetNs)}`],
    ["duration", formatDuration(span.durationNs)],
    ["status", span.status.description ? `${span.status.code}: ${span.status.description}` : span.status.code],
    ["span id", span.spanId],
    ["parent id", span.parentId || "(none)"],
  ];
  byId("details-facts").replaceChildren(...facts.flatMap(([name, value]) => [element("dt", name), element("dd", value)]));
  const attributes = attributeRows(span.attributes);
  if (!attributes.length) {
    const row = element("tr");
    row.append(element("td", "none", "empty"));
    attributes.push(row);
  }
  byId("details-attributes").tBodies[0].replaceChildren(...attributes);
  byId("details-events").replaceChildren(
    ...(span.events.length
      ? span.events.map((event) => {
          const item = element("li");
          item.append(element("strong", `${event.name} at +${formatDuration(event.offsetNs)}`));
          const table = element("table");
          table.append(...attributeRows(event.attributes));
          item.append(table);
          return item;
        })
      : [element("li", "none", "empty")]),
  );
  byId("details-links").replaceChildren(
    ...(span.links.length
      ? span.links.map((link) => {
          const item = element("li");
          const target = state.spans.find((other) => other.spanId === link.spanId);
          if (target && link.traceId === state.selectedTrace) {
            const jump = element("button", target.name, "link");
            jump.type = "button";
            jump.addEventListener("click", () => showDetails(target));
            item.append(jump);
          } else {
            item.append(element("code", `${link.traceId}/${link.spanId}`));
          }
          return item;
        })
      : [element("li", "none", "empty")]),
  );
}

// --- controls ------------------------------------------------------------------------------

function setAutoRefresh(on) {
  const button = byId("auto-refresh");
  button.setAttribute("aria-pressed", String(on));
  button.textContent = `Auto-refresh: ${on ? "on" : "off"}`;
  if (state.timer !== null) clearInterval(state.timer);
  state.timer = on ? setInterval(loadList, AUTO_REFRESH_MS) : null;
}

document.addEventListener("DOMContentLoaded", () => {
  byId("refresh").addEventListener("click", loadList);
  byId("auto-refresh").addEventListener("click", () => setAutoRefresh(state.timer === null));
  loadList().then(() => {
    const wanted = location.hash.slice(1);
    if (/^[0-9a-f]{32}$/.test(wanted)) showTrace(wanted);
  });
});
