// The minimap: the whole graph in small, with a frame around the part the canvas shows. Pressing
// or dragging on it moves the view there. It is a pointer aid: the keyboard reaches every node
// with Tab, which brings the node into view.

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = 60; // canvas units around what the map shows

function rect(className) {
  const element = document.createElementNS(SVG, "rect");
  element.setAttribute("class", className);
  return element;
}

export class Minimap {
  constructor(canvas, element) {
    this.canvas = canvas;
    this.element = element;
    this.svg = element.querySelector("svg");
    this.frame = 0;
    this.held = null; // the mapping frozen while the pointer is down, so the map holds still
    element.addEventListener("pointerdown", (event) => this.press(event));
    element.addEventListener("pointermove", (event) => this.held && this.moveTo(event));
    element.addEventListener("pointerup", () => (this.held = null));
    element.addEventListener("pointercancel", () => (this.held = null));
  }

  // Redraw at the next frame, once however many changes came before it.
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  // What the map shows (canvas units): the graph and the view, with a margin, scaled to fit.
  mapping() {
    const boxes = this.canvas.order.map((id) => [id, this.canvas.box(id)]).filter(([, box]) => box);
    const seen = this.canvas.visibleBox();
    let [x1, y1, x2, y2] = [seen.x, seen.y, seen.x + seen.w, seen.y + seen.h];
    for (const [, b] of boxes) {
      [x1, y1] = [Math.min(x1, b.x), Math.min(y1, b.y)];
      [x2, y2] = [Math.max(x2, b.x + b.w), Math.max(y2, b.y + b.h)];
    }
    const world = { x: x1 - MARGIN, y: y1 - MARGIN, w: x2 - x1 + 2 * MARGIN, h: y2 - y1 + 2 * MARGIN };
    const width = this.element.clientWidth;
    const height = this.element.clientHeight;
    const scale = Math.min(width / world.w, height / world.h);
    // Centred in the map's box.
    const offset = { x: (width - world.w * scale) / 2, y: (height - world.h * scale) / 2 };
    return { world, scale, offset, boxes, seen };
  }

  draw() {
    const fresh = this.mapping();
    const { boxes, seen } = fresh;
    const { world, scale, offset } = this.held || fresh; // while dragging, the map holds still
    const place = (element, b) => {
      element.setAttribute("x", offset.x + (b.x - world.x) * scale);
      element.setAttribute("y", offset.y + (b.y - world.y) * scale);
      element.setAttribute("width", Math.max(1, b.w * scale));
      element.setAttribute("height", Math.max(1, b.h * scale));
      return element;
    };
    const selected = this.canvas.container.querySelectorAll(".fa-selected");
    const chosen = new Set(Array.from(selected, (node) => node.dataset.nid));
    const nodes = boxes.map(([id, b]) => {
      const element = place(rect(chosen.has(id) ? "minimap-node is-selected" : "minimap-node"), b);
      element.dataset.nid = id;
      return element;
    });
    this.svg.replaceChildren(...nodes, place(rect("minimap-view"), seen));
  }

  press(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    this.element.setPointerCapture(event.pointerId);
    this.held = this.mapping();
    this.moveTo(event);
  }

  // Centre the view on the canvas point under the pointer.
  moveTo(event) {
    const { world, scale, offset } = this.held;
    const r = this.element.getBoundingClientRect();
    const x = world.x + (event.clientX - r.x - offset.x) / scale;
    const y = world.y + (event.clientY - r.y - offset.y) / scale;
    this.canvas.lookAt(x, y, this.canvas.df.zoom);
  }
}
