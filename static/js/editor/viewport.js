// The canvas's viewport: screen and canvas coordinates, zoom, fit to screen, centre on a node.
// Drawflow draws the canvas as translate(x, y) scale(zoom) about the precanvas's centre; these
// methods set that transform directly (Canvas.prototype gets them, see canvas.js).

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
    this.hooks.zoom?.(zoom);
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
    const pad = 60;
    const width = this.container.clientWidth - pad;
    const height = this.container.clientHeight - pad;
    const zoom = Math.min(1, width / box.w, height / box.h);
    this.showBox(box, Math.max(this.df.zoom_min, zoom));
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
