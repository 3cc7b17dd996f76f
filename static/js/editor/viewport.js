// The canvas's viewport: screen and canvas coordinates, zoom, fit to screen, centre on a node.
// Drawflow draws the canvas as translate(x, y) scale(zoom) about the precanvas's centre; these
// methods set that transform directly (Canvas.prototype gets them, see canvas.js).

const PAD = 40; // pixels kept free around the graph when it is shown whole
const READABLE_PX = 12; // the smallest text size the editor opens at
const NODE_TEXTS = [".fa-title", ".fa-summary", ".fa-id", ".fa-port"];

export const viewport = {
  // Canvas coordinates of a point on the screen.
  toCanvas(clientX, clientY) {
    const r = this.df.precanvas.getBoundingClientRect();
    return { x: (clientX - r.x) / this.df.zoom, y: (clientY - r.y) / this.df.zoom };
  },

  setView(zoom, x, y) {
    const df = this.df;
    df.zoom = df.zoom_last_value = zoom;
    df.canvas_x = x;
    df.canvas_y = y;
    df.precanvas.style.transform = "translate(" + x + "px, " + y + "px) scale(" + zoom + ")";
    this.hooks.view?.();
  },

  // Show the box (canvas coordinates) in the middle of the screen; the precanvas scales about
  // its centre, so the translation that centres canvas point C is (W/2 - C) * zoom.
  showBox(box, zoom) {
    const w = this.container.clientWidth;
    const h = this.container.clientHeight;
    const cx = box.x + box.w / 2;
    const cy = box.y + box.h / 2;
    this.setView(zoom, (w / 2 - cx) * zoom, (h / 2 - cy) * zoom);
  },

  // A node's box in canvas coordinates (its rendered size), or null.
  box(id) {
    const at = this.position(id);
    const element = this.nodeElement(id);
    return at && element ? { x: at.x, y: at.y, w: element.offsetWidth, h: element.offsetHeight } : null;
  },

  bounds(ids) {
    let box = null;
    for (const id of ids || this.order) {
      const at = this.position(id);
      const element = this.nodeElement(id);
      if (!at || !element) continue;
      const [x2, y2] = [at.x + element.offsetWidth, at.y + element.offsetHeight];
      box = box
        ? {
            x: Math.min(box.x, at.x),
            y: Math.min(box.y, at.y),
            x2: Math.max(box.x2, x2),
            y2: Math.max(box.y2, y2),
          }
        : { x: at.x, y: at.y, x2, y2 };
    }
    return box && { x: box.x, y: box.y, w: box.x2 - box.x, h: box.y2 - box.y };
  },

  fit() {
    const box = this.bounds();
    // A new automation (its start node alone) shows at its natural size, where it was placed.
    if (!box || this.order.length < 2) return this.setView(1, 0, 0);
    this.showBox(box, Math.max(this.df.zoom_min, this.fitZoom(box)));
  },

  fitZoom(box) {
    const width = this.container.clientWidth - 2 * PAD;
    const height = this.container.clientHeight - 2 * PAD;
    return Math.min(1, width / box.w, height / box.h);
  },

  // The smallest zoom at which every text on a node renders at READABLE_PX or more: measured on
  // the nodes drawn, so it follows editor.css.
  readableZoom() {
    const sizes = NODE_TEXTS.map((selector) => this.container.querySelector(".fa-node " + selector))
      .filter(Boolean)
      .map((element) => parseFloat(getComputedStyle(element).fontSize));
    return sizes.length ? Math.min(1, READABLE_PX / Math.min(...sizes)) : 1;
  },

  // The view the editor opens with: the whole graph when it fits at a readable zoom; otherwise,
  // at the smallest readable zoom, its left end (where it starts: layouts run left to right),
  // vertically on the start node. The minimap and ⤢ show the rest.
  home() {
    const box = this.bounds();
    if (!box || this.order.length < 2) return this.setView(1, 0, 0);
    const readable = this.readableZoom();
    const fit = this.fitZoom(box);
    if (fit >= readable) return this.showBox(box, fit);
    const zoom = readable;
    const halfW = (this.container.clientWidth / 2 - PAD) / zoom;
    const halfH = (this.container.clientHeight / 2 - PAD) / zoom;
    const cx = box.w <= 2 * halfW ? box.x + box.w / 2 : box.x + halfW;
    const first = this.order.find((id) => this.records.get(id).node.type === "start") || this.order[0];
    const start = this.bounds([first]);
    const cy =
      box.h <= 2 * halfH
        ? box.y + box.h / 2
        : Math.min(Math.max(start.y + start.h / 2, box.y + halfH), box.y + box.h - halfH);
    this.lookAt(cx, cy, zoom);
  },

  // Put canvas point (cx, cy) in the middle of the screen at this zoom.
  lookAt(cx, cy, zoom) {
    const w = this.container.clientWidth;
    const h = this.container.clientHeight;
    this.setView(zoom, (w / 2 - cx) * zoom, (h / 2 - cy) * zoom);
  },

  // The part of the canvas on screen, in canvas coordinates.
  visibleBox() {
    const r = this.container.getBoundingClientRect();
    const a = this.toCanvas(r.x, r.y);
    const b = this.toCanvas(r.x + r.width, r.y + r.height);
    return { x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y };
  },

  // When the canvas changes size (the palette or the side panel folds), what was at its top
  // left stays there: the precanvas scales about its centre, which moves with the size.
  bindResize() {
    let last = { w: this.container.clientWidth, h: this.container.clientHeight };
    new ResizeObserver(() => {
      const now = { w: this.container.clientWidth, h: this.container.clientHeight };
      const z = this.df.zoom;
      const dx = ((now.w - last.w) / 2) * (1 - z);
      const dy = ((now.h - last.h) / 2) * (1 - z);
      last = now;
      if (dx || dy) this.setView(z, this.df.canvas_x - dx, this.df.canvas_y - dy);
      else this.hooks.view?.();
    }).observe(this.container);
  },

  // Whether a node is wholly on screen.
  inView(id) {
    const node = this.nodeElement(id)?.getBoundingClientRect();
    const view = this.container.getBoundingClientRect();
    if (!node) return false;
    const across = node.left >= view.left && node.right <= view.right;
    return across && node.top >= view.top && node.bottom <= view.bottom;
  },

  centre(id) {
    const box = this.bounds([id]);
    if (box) this.showBox(box, Math.max(this.df.zoom, 0.8));
  },

  zoomBy(step) {
    if (step > 0) this.df.zoom_in();
    else this.df.zoom_out();
  },

  // The wheel pans (trackpads scroll both ways); Ctrl+wheel zooms, which Drawflow handles.
  bindWheel() {
    this.container.addEventListener(
      "wheel",
      (event) => {
        if (event.ctrlKey || event.metaKey) return;
        event.preventDefault();
        this.setView(this.df.zoom, this.df.canvas_x - event.deltaX, this.df.canvas_y - event.deltaY);
      },
      { passive: false },
    );
  },
};
