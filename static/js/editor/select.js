// Selecting on the canvas: click one node, Shift+click to add or remove one, Shift+drag on the
// background for a box. Dragging a selected node drags the whole selection with it.

import { el } from "./canvas.js";

const STILL = 4; // pixels a press may move and still be a click

export class Selection {
  constructor(canvas, hooks) {
    this.canvas = canvas;
    this.hooks = hooks; // {open(id, {focus}), changed(ids)}
    this.ids = new Set();
    this.press = null;
    const container = canvas.container;
    container.addEventListener("mousedown", (event) => this.down(event), true);
    container.addEventListener("mouseup", (event) => this.up(event));
    container.addEventListener("keydown", (event) => this.key(event));
    container.addEventListener("focusin", (event) => this.focused(event));
    canvas.df.on("mouseMove", () => this.dragGroup());
    canvas.df.on("nodeMoved", (dfId) => this.moved(dfId));
  }

  set(ids) {
    for (const id of this.ids) this.canvas.nodeElement(id)?.classList.remove("fa-selected");
    this.ids = new Set(ids.filter((id) => this.canvas.records.has(id)));
    for (const id of this.ids) this.canvas.nodeElement(id)?.classList.add("fa-selected");
    this.hooks.changed([...this.ids]);
  }

  toggle(id) {
    const ids = new Set(this.ids);
    if (ids.has(id)) ids.delete(id);
    else ids.add(id);
    this.set([...ids]);
  }

  all() {
    this.set([...this.canvas.order]);
  }

  // After a re-render the elements are new: draw the selection again on those that still exist.
  redraw() {
    this.set([...this.ids]);
  }

  down(event) {
    this.press = null;
    if (event.button !== 0 || this.canvas.readOnly) return;
    const nodeElement = event.target.closest(".drawflow-node");
    if (!nodeElement && event.shiftKey && !event.target.closest("svg")) {
      event.stopPropagation(); // no pan: the box selects instead
      event.preventDefault();
      return this.box(event);
    }
    const id = nodeElement && !event.target.closest(".output, .input") ? nodeElement.dataset.nid : null;
    this.press = {
      id,
      shift: event.shiftKey,
      x: event.clientX,
      y: event.clientY,
      group: Boolean(id && this.ids.has(id) && this.ids.size > 1),
      last: id ? this.canvas.position(id) : null,
    };
    if (id && !event.shiftKey && !this.ids.has(id)) this.set([id]);
  }

  // Keyboard: Enter or Space on a focused node selects it and opens its settings.
  key(event) {
    const nodeElement = event.target.closest && event.target.closest(".drawflow-node");
    if (!nodeElement || this.canvas.readOnly || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    this.set([nodeElement.dataset.nid]);
    this.hooks.open(nodeElement.dataset.nid, { focus: true });
  }

  // A node reached with Tab is brought into view by the editor, not by the browser: the browser
  // would scroll the canvas's box, which Drawflow does not expect. A node focused by a click is
  // left where it is (the view must not jump under the pointer).
  focused(event) {
    const nodeElement = event.target.closest && event.target.closest(".drawflow-node");
    if (!nodeElement || !nodeElement.matches(":focus-visible")) return;
    const container = this.canvas.container;
    container.scrollLeft = 0;
    container.scrollTop = 0;
    if (!this.canvas.inView(nodeElement.dataset.nid)) this.canvas.centre(nodeElement.dataset.nid);
  }

  dragGroup() {
    const press = this.press;
    if (!press || !press.group || !this.canvas.df.drag) return;
    const now = this.canvas.position(press.id);
    const dx = now.x - press.last.x;
    const dy = now.y - press.last.y;
    if (!dx && !dy) return;
    press.last = now;
    for (const id of this.ids) if (id !== press.id) this.canvas.moveBy(id, dx, dy);
  }

  moved(dfId) {
    const id = this.canvas.byDf.get(String(dfId));
    const ids = this.press && this.press.group ? [...this.ids] : [id];
    this.canvas.settle(ids);
    this.canvas.edited("move");
  }

  up(event) {
    const press = this.press;
    this.press = null;
    if (!press) return;
    const still = Math.abs(event.clientX - press.x) < STILL && Math.abs(event.clientY - press.y) < STILL;
    if (!still) return;
    if (!press.id) {
      if (!press.shift && !event.target.closest("svg.connection")) this.set([]);
    } else if (press.shift) {
      this.toggle(press.id);
    } else {
      this.set([press.id]);
      this.hooks.open(press.id);
    }
  }

  box(event) {
    const container = this.canvas.container;
    const origin = container.getBoundingClientRect();
    const start = { x: event.clientX, y: event.clientY };
    const rectangle = el("div", "fa-select-box");
    container.appendChild(rectangle);
    const area = (e) => ({
      left: Math.min(start.x, e.clientX),
      top: Math.min(start.y, e.clientY),
      right: Math.max(start.x, e.clientX),
      bottom: Math.max(start.y, e.clientY),
    });
    const move = (e) => {
      const a = area(e);
      Object.assign(rectangle.style, {
        left: a.left - origin.x + "px",
        top: a.top - origin.y + "px",
        width: a.right - a.left + "px",
        height: a.bottom - a.top + "px",
      });
    };
    const up = (e) => {
      window.removeEventListener("mousemove", move);
      rectangle.remove();
      const a = area(e);
      const inside = this.canvas.order.filter((id) => {
        const r = this.canvas.nodeElement(id).getBoundingClientRect();
        return r.right > a.left && r.left < a.right && r.bottom > a.top && r.top < a.bottom;
      });
      this.set([...new Set([...this.ids, ...inside])]);
    };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up, { once: true });
  }
}
