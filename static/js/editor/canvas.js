// The canvas: Drawflow drawing Flowapp's graph format.
//
// Drawflow knows nodes by number and outputs by position ("output_2"); Flowapp knows them by id
// and by port name. This class keeps the mapping: each node's outputs are its ports, in the order
// the server's registry gives them (`view.ports`), and every edge is read back as
// {"from", "port", "to"} by looking that order up. Positional names never leave this file.
// serialize() rebuilds the stored document from what Drawflow holds (positions, connections)
// plus each node's config, so loading a graph and serializing it gives the same document.

import { clone, edgeKey, orderedNode } from "./graph.js";
import { viewport } from "./viewport.js";

const CLASS_CHARS = /[^A-Za-z0-9_-]/g;
// The grid row of a node's first port: rows 1-3 are its head, summary and id (see editor.css).
const PORT_ROW = 4;
const UNKNOWN_VIEW = { ports: [], labels: {}, summary: "", icon: "?", title: "Node", inputs: 1 };

export function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (Array.isArray(content)) node.append(...content);
  else if (content !== undefined && content !== null) node.textContent = String(content);
  return node;
}

export class Canvas {
  constructor(container, hooks) {
    this.container = container;
    this.hooks = hooks;
    const df = new window.Drawflow(container);
    df.reroute = false;
    df.zoom_min = 0.2;
    df.zoom_max = 2;
    // Keys and deletions go through the editor (multi-selection, history), so Drawflow's own
    // Delete key and right-click delete button are switched off before start() binds them.
    df.key = function () {};
    df.contextmenu = function (event) {
      event.preventDefault();
    };
    df.start();
    this.df = df;
    this.bindWheel();
    this.quiet = 0; // > 0 while the canvas changes itself: Drawflow's events are not edits
    this.readOnly = false;
    this.reset();
    df.on("connectionCreated", (info) => this.connected(info));
    df.on("connectionRemoved", () => this.edited("disconnect"));
    // The view changed (panned, zoomed, a node dragged): whoever follows it (the minimap) redraws.
    const viewed = () => this.hooks.view?.();
    df.on("translate", viewed);
    df.on("zoom", viewed);
    df.on("mouseMove", () => df.drag && viewed());
    this.bindResize();
  }

  reset() {
    this.records = new Map(); // node id -> {node, view, dfId, placed}
    this.byDf = new Map(); // Drawflow id -> node id
    this.order = []; // node ids in document order
    this.edgeOrder = new Map(); // edge key -> rank, so edges come back in their stored order
    this.edgeSeq = 0;
    this.orphans = []; // edges the canvas cannot draw (unknown node or port): kept for export
    this.hidden = []; // nodes with a repeated id (the validator reports them): kept for export
    this.top = { spec_version: 2 };
  }

  edited(reason) {
    if (!this.quiet) this.hooks.change(reason);
  }

  silently(action) {
    this.quiet++;
    try {
      return action();
    } finally {
      this.quiet--;
    }
  }

  // Draw a whole document. `views` gives each node's ports, labels and summary (from the server).
  render(graph, views) {
    this.silently(() => {
      this.df.clear();
      this.reset();
      const { nodes, edges, ...top } = graph;
      this.top = clone(top);
      const data = {};
      nodes.forEach((node, index) => {
        if (this.records.has(node.id)) return this.hidden.push({ node: clone(node), index });
        const rec = this.record(node, views[node.id], String(index + 1), index);
        data[rec.dfId] = this.dfNode(rec);
      });
      edges.forEach((edge, index) => {
        this.edgeOrder.set(edgeKey(edge), index);
        if (!this.link(data, edge)) this.orphans.push({ edge: clone(edge), index });
      });
      this.edgeSeq = edges.length;
      this.df.drawflow = { drawflow: { Home: { data } } };
      // Drawflow.load(), but each node gets its content before the connections are measured.
      for (const id of Object.keys(data)) {
        this.df.addNodeImport(data[id], this.df.precanvas);
        this.decorate(this.byDf.get(id));
      }
      this.df.nodeId = nodes.length + 1;
      this.redrawAll();
    });
  }

  record(node, view, dfId, index) {
    const rec = { node: clone(node), view: clone(view || UNKNOWN_VIEW), dfId };
    rec.placed = Boolean(node.position);
    // A node stored without a position gets one on the canvas, and none in the document until moved.
    rec.at = node.position || { x: 80 + (index % 6) * 260, y: 80 + Math.floor(index / 6) * 180 };
    this.records.set(node.id, rec);
    this.byDf.set(dfId, node.id);
    this.order.push(node.id);
    return rec;
  }

  dfNode(rec) {
    const outputs = {};
    rec.view.ports.forEach((_, i) => (outputs["output_" + (i + 1)] = { connections: [] }));
    return {
      id: Number(rec.dfId),
      name: rec.node.type,
      data: {},
      class: "fa-node fa-type-" + String(rec.node.type).replace(CLASS_CHARS, ""),
      html: "",
      typenode: false,
      inputs: rec.view.inputs ? { input_1: { connections: [] } } : {},
      outputs,
      pos_x: rec.at.x,
      pos_y: rec.at.y,
    };
  }

  // Put an edge into Drawflow's import data; false when the canvas cannot draw it.
  link(data, edge) {
    const source = this.records.get(edge.from);
    const target = this.records.get(edge.to);
    if (!source || !target || !target.view.inputs) return false;
    const index = source.view.ports.indexOf(edge.port);
    if (index < 0) return false;
    const output = data[source.dfId].outputs["output_" + (index + 1)];
    if (output.connections.length) return false; // a port leads to one node
    output.connections.push({ node: target.dfId, output: "input_1" });
    data[target.dfId].inputs.input_1.connections.push({ node: source.dfId, input: "output_" + (index + 1) });
    return true;
  }

  nodeElement(id) {
    const rec = this.records.get(id);
    return rec ? this.container.querySelector("#node-" + rec.dfId) : null;
  }

  // The node's content, built with textContent only: labels and summaries are user text.
  decorate(id) {
    const rec = this.records.get(id);
    const element = this.nodeElement(id);
    if (!rec || !element) return;
    element.dataset.nid = id;
    // Focusable, so a node can be reached with Tab and opened with Enter (see select.js).
    element.tabIndex = 0;
    element.setAttribute("role", "button");
    const title = rec.node.label || rec.view.title;
    element.setAttribute("aria-label", title + ": " + rec.view.summary + " (" + id + ")");
    // Each port's label is a row of the node, and its output circle sits in the same grid row
    // (editor.css), so a long label wraps inside the node instead of running under its
    // neighbours, and the circle follows the label's line however many lines it takes.
    const labels = rec.view.ports.map((port, i) => {
      const label = el("div", "fa-port", rec.view.labels[port] || port);
      label.dataset.port = port;
      label.style.gridRow = String(PORT_ROW + i);
      return label;
    });
    element.querySelector(".drawflow_content_node").replaceChildren(
      el("div", "fa-head", [el("span", "fa-icon", rec.view.icon), el("span", "fa-title", title)]),
      el("div", "fa-summary", rec.view.summary),
      el("div", "fa-meta", [el("code", "fa-id", id)]),
      ...labels,
      el("div", "fa-badges"),
    );
    element.querySelectorAll(".outputs > .output").forEach((output, i) => {
      const port = rec.view.ports[i];
      output.dataset.port = port;
      output.dataset.label = rec.view.labels[port] || port;
      output.title = "Port " + port + ": drag to a node to connect";
      output.style.gridRow = String(PORT_ROW + i);
    });
  }

  // Measure every port once, then write every path: one layout for the whole canvas, where
  // Drawflow's per-node update would lay it out again for each connection.
  redrawAll() {
    const precanvas = this.df.precanvas;
    const base = precanvas.getBoundingClientRect();
    const zoom = this.df.zoom;
    const centres = new Map();
    const centre = (dfId, cls) => {
      const key = dfId + "." + cls;
      if (!centres.has(key)) {
        const port = precanvas.querySelector("#node-" + dfId + " ." + cls);
        const r = port ? port.getBoundingClientRect() : base;
        const x = (r.x - base.x + r.width / 2) / zoom;
        centres.set(key, [x, (r.y - base.y + r.height / 2) / zoom]);
      }
      return centres.get(key);
    };
    const svgs = Array.from(precanvas.querySelectorAll("svg.connection"));
    const paths = svgs.map((svg) => {
      const c = svg.classList;
      const [sx, sy] = centre(c[2].slice(14), c[3]);
      const [ex, ey] = centre(c[1].slice(13), c[4]);
      return this.df.createCurvature(sx, sy, ex, ey, this.df.curvature, "openclose");
    });
    svgs.forEach((svg, i) => svg.firstChild.setAttributeNS(null, "d", paths[i]));
  }

  connected(info) {
    if (this.quiet) return;
    const data = this.df.drawflow.drawflow.Home.data;
    const output = data[info.output_id].outputs[info.output_class];
    // A port leads to one node: connecting it again replaces its edge.
    this.silently(() => {
      for (const old of output.connections.slice()) {
        if (String(old.node) !== String(info.input_id)) {
          this.df.removeSingleConnection(info.output_id, old.node, info.output_class, old.output);
        }
      }
    });
    const edge = this.edgeOf(info.output_id, info.output_class, info.input_id);
    if (edge) this.edgeOrder.set(edgeKey(edge), this.edgeSeq++);
    this.edited("connect");
  }

  edgeOf(outputDf, outputClass, inputDf) {
    const from = this.byDf.get(String(outputDf));
    const to = this.byDf.get(String(inputDf));
    const port = from && this.records.get(from).view.ports[Number(outputClass.slice(7)) - 1];
    return from && to && port ? { from, port, to } : null;
  }

  rank(edge) {
    const key = edgeKey(edge);
    if (!this.edgeOrder.has(key)) this.edgeOrder.set(key, this.edgeSeq++);
    return this.edgeOrder.get(key);
  }

  // The document as it is on the canvas.
  serialize() {
    const data = this.df.drawflow.drawflow.Home.data;
    const nodes = this.order.map((id) => {
      const rec = this.records.get(id);
      const node = clone(rec.node);
      if (rec.placed) node.position = { x: data[rec.dfId].pos_x, y: data[rec.dfId].pos_y };
      else delete node.position;
      return orderedNode(node);
    });
    for (const hidden of this.hidden) nodes.splice(hidden.index, 0, clone(hidden.node));
    const edges = this.orphans.map((orphan) => [orphan.index, clone(orphan.edge)]);
    for (const id of this.order) {
      const rec = this.records.get(id);
      rec.view.ports.forEach((port, i) => {
        for (const link of data[rec.dfId].outputs["output_" + (i + 1)]?.connections || []) {
          const edge = { from: id, port, to: this.byDf.get(String(link.node)) };
          if (edge.to) edges.push([this.rank(edge), edge]);
        }
      });
    }
    edges.sort((a, b) => a[0] - b[0]);
    const { spec_version: version, ...rest } = clone(this.top);
    return { spec_version: version, nodes, edges: edges.map((e) => e[1]), ...rest };
  }

  views() {
    const result = {};
    for (const [id, rec] of this.records) result[id] = clone(rec.view);
    return result;
  }

  // Add one node (from the palette or a paste); returns its id.
  addNode(node, view) {
    return this.silently(() => {
      const dfId = String(this.df.nodeId);
      const rec = this.record(node, view, dfId, this.order.length);
      rec.placed = true;
      const d = this.dfNode(rec);
      const inputs = rec.view.inputs ? 1 : 0;
      this.df.addNode(d.name, inputs, rec.view.ports.length, d.pos_x, d.pos_y, d.class, {}, "");
      this.decorate(node.id);
      return node.id;
    });
  }

  addEdges(edges) {
    this.silently(() => {
      for (const edge of edges) {
        const source = this.records.get(edge.from);
        const target = this.records.get(edge.to);
        const index = source ? source.view.ports.indexOf(edge.port) : -1;
        if (index < 0 || !target || !target.view.inputs) continue;
        this.df.addConnection(source.dfId, target.dfId, "output_" + (index + 1), "input_1");
        this.rank(edge);
      }
    });
  }

  // The node a port leads to, or null.
  targetOf(from, port) {
    const rec = this.records.get(from);
    const index = rec ? rec.view.ports.indexOf(port) : -1;
    if (index < 0) return null;
    const outputs = this.df.drawflow.drawflow.Home.data[rec.dfId].outputs;
    const link = outputs["output_" + (index + 1)]?.connections[0];
    return link ? this.byDf.get(String(link.node)) || null : null;
  }

  // Point a port at another node, or at nothing (`to` null): drawing an edge without a mouse.
  setEdge(from, port, to) {
    const source = this.records.get(from);
    const index = source ? source.view.ports.indexOf(port) : -1;
    const target = to ? this.records.get(to) : null;
    if (this.readOnly || index < 0 || (to && (!target || !target.view.inputs))) return;
    if (this.targetOf(from, port) === to) return;
    const output = "output_" + (index + 1);
    this.silently(() => {
      const links = this.df.drawflow.drawflow.Home.data[source.dfId].outputs[output].connections;
      for (const old of links.slice()) {
        this.df.removeSingleConnection(source.dfId, old.node, output, old.output);
      }
      if (target) this.df.addConnection(source.dfId, target.dfId, output, "input_1");
    });
    if (target) this.edgeOrder.set(edgeKey({ from, port, to }), this.edgeSeq++);
    this.edited("connect");
  }

  removeNodes(ids) {
    this.silently(() => {
      for (const id of ids) {
        const rec = this.records.get(id);
        if (!rec) continue;
        this.df.removeNodeId("node-" + rec.dfId);
        this.records.delete(id);
        this.byDf.delete(rec.dfId);
        this.order.splice(this.order.indexOf(id), 1);
        this.orphans = this.orphans.filter((o) => o.edge.from !== id && o.edge.to !== id);
      }
    });
  }

  // A node's new settings (from its form). When its ports change the node is rebuilt with the
  // new outputs; edges keep their port by name, and edges from ports that are gone are dropped.
  updateNode(node, view) {
    const rec = this.records.get(node.id);
    if (!rec) return;
    const samePorts = JSON.stringify(rec.view.ports) === JSON.stringify(view.ports);
    rec.node = { ...clone(node), position: rec.node.position };
    if (node.label === undefined) delete rec.node.label;
    if (samePorts) {
      rec.view = clone(view);
      this.decorate(node.id);
      this.silently(() => this.df.updateConnectionNodes("node-" + rec.dfId));
      return;
    }
    const graph = this.serialize();
    const at = this.position(node.id);
    const edges = graph.edges.filter((e) => e.from === node.id || e.to === node.id);
    const index = this.order.indexOf(node.id);
    const stored = clone(rec.node);
    const placed = rec.placed;
    this.orphans = this.orphans.filter((o) => o.edge.from !== node.id);
    this.removeNodes([node.id]);
    this.addNode({ ...stored, position: at }, view);
    this.order.splice(this.order.indexOf(node.id), 1);
    this.order.splice(index, 0, node.id);
    this.records.get(node.id).placed = placed;
    this.records.get(node.id).node = stored;
    this.addEdges(edges.filter((e) => e.from !== node.id || view.ports.includes(e.port)));
  }

  node(id) {
    const rec = this.records.get(id);
    return rec ? orderedNode({ ...clone(rec.node), position: this.position(id) }) : null;
  }

  position(id) {
    const rec = this.records.get(id);
    const d = rec && this.df.drawflow.drawflow.Home.data[rec.dfId];
    return d ? { x: d.pos_x, y: d.pos_y } : null;
  }

  moveBy(id, dx, dy) {
    const rec = this.records.get(id);
    const d = this.df.drawflow.drawflow.Home.data[rec.dfId];
    d.pos_x += dx;
    d.pos_y += dy;
    const element = this.nodeElement(id);
    element.style.left = d.pos_x + "px";
    element.style.top = d.pos_y + "px";
    rec.placed = true;
    this.df.updateConnectionNodes("node-" + rec.dfId);
  }

  // Move nodes to new positions ({id: {x, y}}) in one go, then draw the edges once.
  placeAll(positions) {
    const data = this.df.drawflow.drawflow.Home.data;
    for (const [id, at] of Object.entries(positions)) {
      const rec = this.records.get(id);
      if (!rec) continue;
      data[rec.dfId].pos_x = at.x;
      data[rec.dfId].pos_y = at.y;
      const element = this.nodeElement(id);
      element.style.left = at.x + "px";
      element.style.top = at.y + "px";
      rec.placed = true;
    }
    this.redrawAll();
    this.edited("arrange");
  }

  // Round moved nodes to whole pixels (exported files stay tidy) and mark them placed.
  settle(ids) {
    for (const id of ids) {
      const at = this.position(id);
      if (!at) continue;
      this.moveBy(id, Math.round(at.x) - at.x, Math.round(at.y) - at.y);
    }
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.df.editor_mode = readOnly ? "view" : "edit";
    this.container.classList.toggle("is-readonly", readOnly);
  }
}

// Pan, zoom, fit and centre live in viewport.js.
Object.assign(Canvas.prototype, viewport);
