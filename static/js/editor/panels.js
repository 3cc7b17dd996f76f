// The side panel: tabs, and the glue between its server-rendered fragments (htmx) and the canvas.
// Fragments tell the canvas what to do through data attributes (data-applied, data-sim,
// data-trace); this file reads them after each swap. Nothing here builds markup from data, except
// the list of connections under a node's settings (connections.js), which mirrors the canvas.

import { showConnections } from "./connections.js";

const TABS = ["settings", "problems", "simulator", "versions", "runs"];

export class Panels {
  constructor(editor) {
    this.editor = editor;
    this.lastField = null;
    this.opening = null; // {id, focus}: the node whose settings are on their way
    this.openedWith = null; // the settings form's values when it opened (see formChanged)
    this.settingsHint = document.querySelector("#panel-settings > p")?.cloneNode(true);
    for (const name of TABS) {
      document.getElementById("tab-" + name).addEventListener("click", () => this.show(name));
    }
    document.querySelector(".tabs").addEventListener("keydown", (event) => this.arrows(event));
    document.addEventListener("htmx:afterSwap", (event) => this.swapped(event.detail.target));
    document.addEventListener("htmx:configRequest", (event) => this.attachGraph(event));
    const side = document.querySelector(".side-panel");
    side.addEventListener("input", (event) => this.count(event.target));
    side.addEventListener("focusin", (event) => {
      if (event.target.matches("[data-accepts-names]")) this.lastField = event.target;
    });
    side.addEventListener("click", (event) => this.clicked(event));
    side.addEventListener("submit", (event) => this.submitted(event));
  }

  show(name) {
    this.editor.folds.set("panel", false);
    for (const tab of TABS) {
      const selected = tab === name;
      document.getElementById("tab-" + tab).setAttribute("aria-selected", String(selected));
      document.getElementById("panel-" + tab).hidden = !selected;
    }
    const button = document.getElementById("tab-" + name);
    if (button.dataset.load) {
      window.htmx.ajax("GET", button.dataset.load, { target: "#panel-" + name, swap: "innerHTML" });
    }
  }

  arrows(event) {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const current = TABS.findIndex((tab) => document.getElementById("tab-" + tab) === document.activeElement);
    if (current < 0) return;
    const next = TABS[(current + (event.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
    document.getElementById("tab-" + next).focus();
    this.show(next);
  }

  attachGraph(event) {
    if (!event.detail.elt.closest || !event.detail.elt.closest("[data-attach-graph]")) return;
    const current = this.editor.history.current();
    event.detail.formData.set("graph", JSON.stringify(current.graph));
    event.detail.formData.set("trigger", JSON.stringify(current.trigger));
  }

  swapped(target) {
    if (!target || !target.id) return;
    const applied = target.querySelector("#node-applied, #trigger-applied");
    if (target.id === "panel-settings" && applied) {
      const data = JSON.parse(applied.dataset.applied);
      if (applied.id === "node-applied") this.editor.applyNode(data.node, data.view);
      else this.editor.applyTrigger(data.trigger, data.summary);
    }
    if (target.id === "panel-settings") {
      showConnections(this.editor.canvas);
      this.settingsOpened(target, applied);
    }
    if (["panel-settings", "node-live", "trigger-live"].includes(target.id)) this.markFields();
    if (target.id === "panel-simulator") {
      const sim = target.querySelector("#sim");
      this.editor.showSimulation(sim ? JSON.parse(sim.dataset.sim) : null);
      const chat = target.querySelector("#sim-chat");
      if (chat) chat.scrollTop = chat.scrollHeight;
      target.querySelector("#sim-text")?.focus();
    }
    if (target.id === "panel-runs") {
      const trace = target.querySelector("#trace");
      this.editor.showTrace(trace ? JSON.parse(trace.dataset.trace) : null, trace && trace.dataset.run);
    }
  }

  // A node's settings arrived: a form just opened (its values are the baseline formChanged
  // compares with, and it takes the focus when opened from the keyboard), the same form redrawn
  // (a row added or removed: the baseline stays), or the form after Save settings (saved: the
  // new baseline).
  settingsOpened(target, applied) {
    const form = target.querySelector("#node-form");
    const id = target.querySelector("#node-form-wrap")?.dataset.nodeId;
    const opening = this.opening;
    if (!form) this.openedWith = null;
    else if (applied) this.openedWith = formValues(form);
    else if (opening && opening.id === id) {
      this.opening = null;
      this.openedWith = formValues(form);
      if (opening.focus) form.querySelector("input:not([type=hidden]), select, textarea")?.focus();
    }
  }

  // Whether the open node form holds changes not saved on the canvas.
  formChanged() {
    const form = document.getElementById("node-form");
    return Boolean(form && this.openedWith !== null && formValues(form) !== this.openedWith);
  }

  // Fields named in the live check's problems get aria-invalid: "buttons[1].title" is the field
  // "c.buttons.1.title" (or "t.keywords" for "trigger.keywords[0]").
  markFields() {
    for (const field of document.querySelectorAll(".settings-form [aria-invalid]")) {
      field.removeAttribute("aria-invalid");
    }
    for (const item of document.querySelectorAll(".node-issues [data-field]")) {
      const path = item.dataset.field.replace(/\[(\d+)\]/g, ".$1");
      const name = path.startsWith("trigger.") ? "t." + path.slice(8).replace(/\.\d+$/, "") : "c." + path;
      const selector = '.settings-form [name="' + CSS.escape(name) + '"]:not([type=hidden])';
      document.querySelector(selector)?.setAttribute("aria-invalid", "true");
    }
  }

  count(field) {
    if (!field.dataset || !field.dataset.max) return;
    const counter = document.getElementById(field.id + "-count");
    if (!counter) return;
    counter.textContent = field.value.length + " / " + field.dataset.max;
    counter.classList.toggle("over", field.value.length > Number(field.dataset.max));
  }

  insert(text) {
    const field = this.lastField && document.body.contains(this.lastField) ? this.lastField : null;
    if (!field) return this.editor.toast("Click in a text field first, then on a name.");
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? field.value.length;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  clicked(event) {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.matches(".issue-jump, .step-jump")) {
      const fromProblems = target.matches(".issue-jump");
      this.editor.jump(target.dataset.issueNode, target.dataset.issueField || "", fromProblems);
    } else if (target.matches(".name-chip")) {
      this.insert(target.dataset.insert);
    } else if (target.dataset.restoreUrl) {
      this.editor.restoreVersion(target.dataset.restoreUrl, target.dataset.version);
    }
  }

  submitted(event) {
    if (event.target.id !== "compare-form") return;
    event.preventDefault();
    const form = event.target;
    const url = form.querySelector("[data-diff-url]").dataset.diffUrl;
    this.editor.showDiff(url, form.elements.from.value, form.elements.to.value);
  }
}

function formValues(form) {
  return JSON.stringify([...new FormData(form).entries()].map(([k, v]) => [k, String(v)]));
}
