// "Arrange": a layered layout, left to right, following the edges.
//
// 1. A depth-first walk from the start node (then from every node nothing leads to) follows the
//    ports in their order; an edge back to a node still on the walk's path closes a loop and is
//    left out of the layout, so what remains has no cycle.
// 2. Each node's column is the longest path to it from a first node, so every edge that remains
//    runs rightwards.
// 3. Column by column, each node wants its middle level with the middle of the node that leads
//    to it, moved up or down as far as the port is from the middle of that node's ports (so a
//    chain runs straight and a menu's branches fan out in its ports' order); with several nodes
//    leading to it, the mean. Nodes are ordered by that wish (ties: the walk's order) and stacked
//    as close to it as they can be without overlapping (least squares: an isotonic regression,
//    by pool-adjacent-violators).
//
// Sizes and port offsets are measured on the canvas, so tall nodes (many ports, long labels) get
// the room they take. The result is a plain {id: {x, y}}; the editor applies it as one edit.

const GAP_X = 110; // between columns: room for the edges' curves and a port's label
const GAP_Y = 36; // between nodes of a column

// What the layout needs from the canvas: ids in document order, edges it draws, and each node's
// size and its ports' levels (canvas units, from the node's top).
export function measure(canvas) {
  const zoom = canvas.df.zoom;
  const ids = canvas.order.filter((id) => canvas.nodeElement(id));
  const shapes = new Map();
  for (const id of ids) {
    const element = canvas.nodeElement(id);
    const top = element.getBoundingClientRect().y;
    const middle = (port) => {
      const r = port.getBoundingClientRect();
      return (r.y + r.height / 2 - top) / zoom;
    };
    const ports = {};
    element.querySelectorAll(".output[data-port]").forEach((output) => {
      ports[output.dataset.port] = middle(output);
    });
    const levels = Object.values(ports);
    shapes.set(id, {
      w: element.offsetWidth,
      h: element.offsetHeight,
      ports,
      portsMiddle: levels.length ? (Math.min(...levels) + Math.max(...levels)) / 2 : 0,
      portOrder: canvas.records.get(id).view.ports,
    });
  }
  const edges = canvas
    .serialize()
    .edges.filter((e) => shapes.has(e.from) && shapes.has(e.to) && e.port in shapes.get(e.from).ports);
  const start = ids.find((id) => canvas.records.get(id).node.type === "start");
  return { ids, edges, shapes, start };
}

// Positions for every node, with the layout's top left at `origin`.
export function layered({ ids, edges, shapes, start }, origin) {
  const out = new Map(ids.map((id) => [id, []]));
  for (const edge of edges) out.get(edge.from).push(edge);
  for (const [id, list] of out) {
    const order = shapes.get(id).portOrder;
    list.sort((a, b) => order.indexOf(a.port) - order.indexOf(b.port));
  }
  const { walkIndex, forward, topo } = walk(ids, out, start);
  const column = columns(topo, forward);
  const lefts = columnLefts(ids, column, shapes);
  const tops = new Map();
  const byColumn = [];
  for (const id of ids) (byColumn[column.get(id)] ||= []).push(id);
  for (const members of byColumn) {
    if (!members) continue;
    const wish = new Map(members.map((id) => [id, wanted(id, forward, shapes, tops)]));
    const rank = (id) => (wish.get(id) === null ? Infinity : wish.get(id) + shapes.get(id).h / 2);
    members.sort((a, b) => rank(a) - rank(b) || walkIndex.get(a) - walkIndex.get(b));
    stack(members, wish, shapes).forEach((top, i) => tops.set(members[i], top));
  }
  const minTop = Math.min(...tops.values());
  const positions = {};
  for (const id of ids) {
    positions[id] = {
      x: Math.round(origin.x + lefts[column.get(id)]),
      y: Math.round(origin.y + tops.get(id) - minTop),
    };
  }
  return positions;
}

// Depth-first from the start node, then from nodes nothing leads to, then from any left over.
function walk(ids, out, start) {
  const incoming = new Set();
  for (const list of out.values()) for (const edge of list) incoming.add(edge.to);
  const roots = [start, ...ids.filter((id) => !incoming.has(id)), ...ids].filter(Boolean);
  const state = new Map(); // id -> "open" while on the path, "done" after
  const walkIndex = new Map();
  const forward = []; // edges that do not close a loop
  const finished = [];
  for (const root of roots) {
    if (state.has(root)) continue;
    const path = [{ id: root, next: 0 }];
    state.set(root, "open");
    walkIndex.set(root, walkIndex.size);
    while (path.length) {
      const frame = path[path.length - 1];
      const edge = out.get(frame.id)[frame.next++];
      if (!edge) {
        state.set(frame.id, "done");
        finished.push(frame.id);
        path.pop();
        continue;
      }
      if (state.get(edge.to) === "open") continue; // a loop back: drawn, not laid out
      forward.push(edge);
      if (state.has(edge.to)) continue;
      state.set(edge.to, "open");
      walkIndex.set(edge.to, walkIndex.size);
      path.push({ id: edge.to, next: 0 });
    }
  }
  return { walkIndex, forward, topo: finished.reverse() };
}

function columns(topo, forward) {
  const column = new Map(topo.map((id) => [id, 0]));
  const into = new Map(topo.map((id) => [id, []]));
  for (const edge of forward) into.get(edge.to).push(edge.from);
  for (const id of topo) {
    for (const from of into.get(id)) column.set(id, Math.max(column.get(id), column.get(from) + 1));
  }
  return column;
}

function columnLefts(ids, column, shapes) {
  const widths = [];
  for (const id of ids) {
    const c = column.get(id);
    widths[c] = Math.max(widths[c] || 0, shapes.get(id).w);
  }
  const lefts = [];
  let x = 0;
  for (let c = 0; c < widths.length; c++) {
    lefts[c] = x;
    x += (widths[c] || 0) + GAP_X;
  }
  return lefts;
}

// The top a node wants (see 3. above), from the nodes leading to it that are already placed (in
// earlier columns); null when there is none.
function wanted(id, forward, shapes, tops) {
  const levels = forward
    .filter((edge) => edge.to === id && tops.has(edge.from))
    .map((edge) => {
      const from = shapes.get(edge.from);
      return tops.get(edge.from) + from.h / 2 + from.ports[edge.port] - from.portsMiddle;
    });
  if (!levels.length) return null;
  return levels.reduce((a, b) => a + b, 0) / levels.length - shapes.get(id).h / 2;
}

// Tops for the members of a column, in their order, each at least GAP_Y below the one above and
// as close as can be (least squares) to what it wants. Pool-adjacent-violators on the tops minus
// the room the nodes above take, which must not decrease.
function stack(members, wish, shapes) {
  const room = [];
  let used = 0;
  for (const id of members) {
    room.push(used);
    used += shapes.get(id).h + GAP_Y;
  }
  const blocks = [];
  members.forEach((id, i) => {
    // A node that wants nothing goes right under the one above.
    const above = blocks.length ? blocks[blocks.length - 1].value : 0;
    const target = wish.get(id) === null ? above : wish.get(id) - room[i];
    blocks.push({ sum: target, count: 1, value: target });
    while (blocks.length > 1 && blocks[blocks.length - 2].value > blocks[blocks.length - 1].value) {
      const last = blocks.pop();
      const before = blocks[blocks.length - 1];
      before.sum += last.sum;
      before.count += last.count;
      before.value = before.sum / before.count;
    }
  });
  const tops = [];
  for (const block of blocks) {
    for (let k = 0; k < block.count; k++) tops.push(block.value + room[tops.length]);
  }
  return tops;
}
