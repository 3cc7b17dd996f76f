// Pure helpers on Flowapp's graph format ({"spec_version", "nodes", "edges", "meta"?}): copying,
// ids, clipboard documents. Nothing here touches the DOM, so it reads like the format's docs.

export const NODE_KEYS = ["id", "type", "config", "position", "label"];
const ID_CHARS = /[^A-Za-z0-9_-]/g;

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

export function edgeKey(edge) {
  return edge.from + "\u0000" + edge.port + "\u0000" + edge.to;
}

// A node id not in `taken`: "menu", then "menu_2", "menu_3"...
export function freeId(wanted, taken) {
  const base = (String(wanted || "node").replace(ID_CHARS, "_").slice(0, 56)) || "node";
  if (!taken.has(base)) return base;
  const stem = base.replace(/_\d+$/, "");
  for (let n = 2; ; n++) {
    const candidate = stem + "_" + n;
    if (!taken.has(candidate)) return candidate;
  }
}

// What the clipboard holds: the nodes (no start node: a graph has one), the edges between them,
// and how each node is drawn, so a paste into another automation needs no server round trip.
export function clipboardDocument(graph, ids, views) {
  const chosen = new Set(ids);
  const nodes = graph.nodes.filter((node) => chosen.has(node.id) && node.type !== "start");
  const kept = new Set(nodes.map((node) => node.id));
  return {
    kind: "flowapp-nodes",
    version: 1,
    nodes: clone(nodes),
    edges: clone(graph.edges.filter((edge) => kept.has(edge.from) && kept.has(edge.to))),
    views: Object.fromEntries(nodes.map((node) => [node.id, clone(views[node.id])])),
  };
}

// The clipboard's nodes with fresh ids (none taken in `taken`), moved by (dx, dy).
export function pastedNodes(doc, taken, dx, dy) {
  if (!doc || doc.kind !== "flowapp-nodes" || !Array.isArray(doc.nodes)) return null;
  const used = new Set(taken);
  const renamed = {};
  const nodes = doc.nodes.map((node) => {
    const id = freeId(node.id, used);
    used.add(id);
    renamed[node.id] = id;
    const copy = clone(node);
    copy.id = id;
    const at = node.position || { x: 80, y: 80 };
    copy.position = { x: Math.round(at.x + dx), y: Math.round(at.y + dy) };
    return copy;
  });
  const edges = (doc.edges || [])
    .filter((edge) => renamed[edge.from] && renamed[edge.to])
    .map((edge) => ({ from: renamed[edge.from], port: edge.port, to: renamed[edge.to] }));
  const views = {};
  for (const [old, id] of Object.entries(renamed)) views[id] = clone((doc.views || {})[old]);
  return { nodes, edges, views };
}

// Keep a node's keys in the format's order (id, type, config, position, label, then the rest),
// so exported files read the same as the documentation's examples.
export function orderedNode(node) {
  const result = {};
  for (const key of NODE_KEYS) if (node[key] !== undefined) result[key] = node[key];
  for (const key of Object.keys(node)) if (!(key in result)) result[key] = node[key];
  return result;
}

export function sameGraph(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}
