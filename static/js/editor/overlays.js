// What the canvas shows on top of the graph: problems on nodes, a run's path (simulator or a
// real run), the analytics overlay and a diff between two versions. Text goes in by textContent.

import { el } from "./canvas.js";

function edgeElement(canvas, from, port) {
  const rec = canvas.records.get(from);
  const index = rec ? rec.view.ports.indexOf(port) : -1;
  if (index < 0) return null;
  const selector = "svg.connection.node_out_node-" + rec.dfId + ".output_" + (index + 1);
  return canvas.container.querySelector(selector);
}

function splitPort(key) {
  const at = key.indexOf(":");
  return [key.slice(0, at), key.slice(at + 1)];
}

export function markIssues(canvas, issues) {
  for (const node of canvas.container.querySelectorAll(".fa-node")) {
    node.classList.remove("has-error", "has-warning");
    node.querySelector(".fa-issue-badge")?.remove();
  }
  const counts = new Map();
  for (const issue of issues || []) {
    if (!issue.node) continue;
    const count = counts.get(issue.node) || { error: 0, warning: 0, first: issue.message };
    count[issue.level] += 1;
    counts.set(issue.node, count);
  }
  for (const [id, count] of counts) {
    const node = canvas.nodeElement(id);
    if (!node) continue;
    node.classList.add(count.error ? "has-error" : "has-warning");
    const badge = el("span", "fa-issue-badge", count.error ? "⚠ " + count.error : "! " + count.warning);
    badge.title = count.first;
    node.querySelector(".fa-badges")?.append(badge);
  }
}

export function clearPath(canvas, kind) {
  canvas.container.classList.remove("has-" + kind);
  const names = ["fa-" + kind, "fa-" + kind + "-active", "fa-" + kind + "-edge"];
  for (const name of names) {
    for (const element of canvas.container.querySelectorAll("." + name)) element.classList.remove(name);
  }
}

// kind is "sim" (the simulator's run) or "trace" (a real run picked in the Runs panel).
export function showPath(canvas, kind, path) {
  clearPath(canvas, kind);
  if (!path) return;
  canvas.container.classList.add("has-" + kind);
  for (const id of path.nodes || []) canvas.nodeElement(id)?.classList.add("fa-" + kind);
  if (path.active) canvas.nodeElement(path.active)?.classList.add("fa-" + kind + "-active");
  for (const key of path.ports || []) {
    edgeElement(canvas, ...splitPort(key))?.classList.add("fa-" + kind + "-edge");
  }
}

export function clearStats(canvas) {
  canvas.container.classList.remove("has-stats");
  for (const element of canvas.container.querySelectorAll(".fa-stats, .fa-edge-count")) element.remove();
}

function sendLine(send) {
  const text = "✓ " + send.delivered + " delivered · " + send.read + " read · " + send.failed + " failed";
  const line = el("span", "fa-stat fa-sends", text);
  const errors = Object.entries(send.errors || {}).map(([code, n]) => "error " + code + ": " + n);
  line.title = send.sent + " sent" + (errors.length ? "; " + errors.join(", ") : "");
  return line;
}

export function showStats(canvas, stats) {
  clearStats(canvas);
  canvas.container.classList.add("has-stats");
  for (const id of canvas.order) {
    const box = el("div", "fa-stats");
    const visits = stats.node_visits[id] || 0;
    box.append(el("span", "fa-stat", visits + (visits === 1 ? " visit" : " visits")));
    if (stats.drop_off[id]) box.append(el("span", "fa-stat fa-drop", stats.drop_off[id] + " stopped here"));
    if (stats.sends[id]) box.append(sendLine(stats.sends[id]));
    canvas.nodeElement(id)?.append(box);
  }
  for (const svg of canvas.container.querySelectorAll("svg.connection")) {
    const from = canvas.byDf.get(svg.classList[2].slice(14));
    const rec = canvas.records.get(from);
    const port = rec && rec.view.ports[Number(svg.classList[3].slice(7)) - 1];
    const path = svg.querySelector("path");
    if (!port || !path || !path.getTotalLength()) continue;
    const middle = path.getPointAtLength(path.getTotalLength() / 2);
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("class", "fa-edge-count");
    label.setAttribute("x", middle.x);
    label.setAttribute("y", middle.y - 6);
    label.textContent = String(stats.edge_visits[from + ":" + port] || 0);
    svg.appendChild(label);
  }
}

// Draw version `to` with what changed since `from`: added, changed and moved nodes marked,
// removed nodes (and removed edges) shown ghosted where they were. The canvas is read-only.
export function showDiff(canvas, from, to, diff) {
  canvas.render(to.graph, to.views);
  for (const id of diff.added) canvas.nodeElement(id)?.classList.add("fa-diff-added");
  for (const id of diff.changed) canvas.nodeElement(id)?.classList.add("fa-diff-changed");
  for (const id of diff.moved) canvas.nodeElement(id)?.classList.add("fa-diff-moved");
  const old = new Map(from.graph.nodes.map((node) => [node.id, node]));
  for (const id of diff.removed) {
    const node = old.get(id);
    canvas.addNode({ ...node, position: node.position || { x: 40, y: 40 } }, from.views[id]);
    canvas.nodeElement(id)?.classList.add("fa-ghost");
  }
  canvas.addEdges(diff.edges_removed);
  const marks = [
    [diff.edges_removed, "fa-diff-removed-edge"],
    [diff.edges_added, "fa-diff-added-edge"],
  ];
  for (const [edges, name] of marks) {
    for (const edge of edges) edgeElement(canvas, edge.from, edge.port)?.classList.add(name);
  }
  canvas.setReadOnly(true);
}
