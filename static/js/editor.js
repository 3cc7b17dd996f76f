// The automation editor: palette, canvas, history, autosave, keyboard, and the side panels.
// The page embeds the draft, its node views and the URLs to call (#editor-data); everything the
// canvas draws comes from there or from the server's answers. See docs/editor.md.

import { layered, measure } from "./editor/arrange.js";
import { Canvas } from "./editor/canvas.js";
import { showConnections } from "./editor/connections.js";
import { clipboardDocument, clone, freeId, pastedNodes } from "./editor/graph.js";
import { History } from "./editor/history.js";
import { clearPath, clearStats, markIssues, showPath, showStats } from "./editor/overlays.js";
import { Folds } from "./editor/fold.js";
import { Minimap } from "./editor/minimap.js";
import { Panels } from "./editor/panels.js";
import { Saver } from "./editor/save.js";
import { Selection } from "./editor/select.js";
import { bindSkipLink } from "./editor/focus.js";
import { bindKeys } from "./editor/keys.js";
import { publish, resolveConflict, restoreVersion, showVersionDiff } from "./editor/versions.js";

const CLIPBOARD = "flowapp.clipboard";
const $ = (selector) => document.querySelector(selector);

class Editor {
  constructor(data) {
    this.urls = data.urls;
    this.palette = new Map(data.palette.map((entry) => [entry.type, entry]));
    this.trigger = data.trigger;
    this.summary = data.trigger_summary;
    this.issues = data.issues;
    this.mode = null; // "diff" while two versions are compared (read-only)
    this.pasteCount = 0;
    this.canvas = new Canvas($("#canvas"), {
      change: (reason) => this.commit(reason),
      view: () => this.minimap?.schedule(),
    });
    this.minimap = new Minimap(this.canvas, $("#minimap"));
    // Folded panels are folded before the first view is chosen, so it uses the room they leave.
    this.folds = new Folds($("#editor"));
    this.selection = new Selection(this.canvas, {
      open: (id, how) => this.openNode(id, how),
      changed: () => this.minimap.schedule(),
    });
    this.history = new History();
    this.saver = new Saver({
      url: this.urls.save_draft,
      revision: data.revision,
      indicator: $("#save-state"),
      snapshot: () => ({ ...this.history.current(), name: this.nameToSave() }),
      saved: (answer) => this.saved(answer),
      conflict: (answer) => this.conflicted(answer),
    });
    this.panels = new Panels(this);
    this.canvas.render(data.graph, data.views);
    this.history.reset(this.snapshot());
    markIssues(this.canvas, this.issues);
    this.canvas.home();
    this.minimap.draw();
    this.bindToolbar();
    this.bindPalette();
    this.bindName();
    bindKeys(this);
    bindSkipLink(this);
  }

  // The name is saved with the draft (one revision, no race with the canvas); an empty name is not
  // sent, and the field says why.
  bindName() {
    const input = $("#automation-name");
    input.form.addEventListener("submit", (event) => event.preventDefault());
    input.addEventListener("change", () => {
      if (input.reportValidity()) this.saver.changed();
    });
  }

  nameToSave() {
    const input = $("#automation-name");
    return input.checkValidity() ? input.value.trim() : null;
  }

  showHeader(name, status) {
    if (name) {
      $("#automation-name").value = name;
      document.title = name + " · Editor";
    }
    if (status) {
      const badge = $("#automation-status");
      badge.textContent = status;
      badge.className = "badge badge-" + status;
    }
  }

  snapshot() {
    const graph = this.canvas.serialize();
    return { graph, trigger: clone(this.trigger), summary: this.summary, views: this.canvas.views() };
  }

  // Every edit ends here: one history entry, an autosave, the overlays drawn again.
  commit() {
    if (this.mode) return;
    if (!this.history.push(this.snapshot())) return;
    this.saver.changed();
    this.afterChange();
  }

  afterChange() {
    showConnections(this.canvas);
    $('[data-action="undo"]').disabled = !this.history.canUndo;
    $('[data-action="redo"]').disabled = !this.history.canRedo;
    markIssues(this.canvas, this.issues);
    this.minimap.schedule();
    if ($("#stats-toggle").checked) this.loadStats();
  }

  restore(snapshot) {
    this.canvas.render(snapshot.graph, snapshot.views);
    this.trigger = clone(snapshot.trigger);
    this.setSummary(snapshot.summary);
    this.selection.redraw();
    this.afterChange();
  }

  undo() {
    const snapshot = this.mode ? null : this.history.undo();
    if (!snapshot) return;
    this.restore(snapshot);
    this.saver.changed();
  }

  redo() {
    const snapshot = this.mode ? null : this.history.redo();
    if (!snapshot) return;
    this.restore(snapshot);
    this.saver.changed();
  }

  setSummary(summary) {
    this.summary = summary;
    $("#trigger-summary").textContent = summary;
  }

  toast(message) {
    const toast = $("#toast");
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (toast.hidden = true), 4000);
  }

  // Nodes: add, delete, copy, paste, duplicate.

  ids() {
    return new Set(this.canvas.records.keys());
  }

  visibleCentre() {
    const r = this.canvas.container.getBoundingClientRect();
    const at = this.canvas.toCanvas(r.x + r.width / 2, r.y + r.height / 2);
    const offset = (this.canvas.order.length % 5) * 24;
    return { x: Math.round(at.x - 100 + offset), y: Math.round(at.y - 40 + offset) };
  }

  add(type, clientX, clientY, how = {}) {
    const entry = this.palette.get(type);
    if (!entry || this.mode) return;
    if (type === "start" && this.history.current().graph.nodes.some((node) => node.type === "start")) {
      return this.toast("This automation already has its start node: there is one per automation.");
    }
    const at =
      clientX === undefined
        ? this.freeSpotNear(this.visibleCentre())
        : this.canvas.toCanvas(clientX, clientY);
    const node = {
      id: freeId(type, this.ids()),
      type,
      config: clone(entry.default_config),
      position: { x: Math.round(at.x), y: Math.round(at.y) },
    };
    this.canvas.addNode(node, entry.view);
    this.commit("add");
    this.selection.set([node.id]);
    this.openNode(node.id, how);
  }

  // Nodes added from the keyboard land in the middle of the view; step down and right past any
  // node already there, so that a second one does not hide the first.
  freeSpotNear(at) {
    const taken = this.history.current().graph.nodes.map((node) => node.position || { x: 0, y: 0 });
    const spot = { x: at.x, y: at.y };
    for (let tries = 0; tries < 20; tries++) {
      if (!taken.some((p) => Math.abs(p.x - spot.x) < 60 && Math.abs(p.y - spot.y) < 60)) break;
      spot.x += 60;
      spot.y += 130;
    }
    return spot;
  }

  remove() {
    if (this.mode) return;
    const df = this.canvas.df;
    if (df.connection_selected) return df.removeConnection();
    const chosen = [...this.selection.ids];
    const ids = chosen.filter((id) => this.canvas.records.get(id).node.type !== "start");
    if (ids.length < chosen.length) this.toast("The start node stays: every automation needs one.");
    if (!ids.length) return;
    this.canvas.removeNodes(ids);
    this.selection.set([]);
    this.commit("delete");
    if (ids.includes($("#node-form-wrap")?.dataset.nodeId)) this.clearSettings();
  }

  clipboard() {
    const graph = this.history.current().graph;
    return clipboardDocument(graph, [...this.selection.ids], this.canvas.views());
  }

  copy() {
    const doc = this.clipboard();
    if (!doc.nodes.length) return this.toast("Select nodes to copy first.");
    localStorage.setItem(CLIPBOARD, JSON.stringify(doc));
    const count = doc.nodes.length + (doc.nodes.length === 1 ? " node" : " nodes");
    this.toast("Copied " + count + ": paste here or in another automation.");
  }

  paste(doc) {
    if (this.mode) return;
    if (!doc) {
      try {
        doc = JSON.parse(localStorage.getItem(CLIPBOARD) || "null");
      } catch {
        doc = null;
      }
    }
    this.pasteCount += 1;
    const pasted = pastedNodes(doc, this.ids(), 40 * this.pasteCount, 40 * this.pasteCount);
    if (!pasted || !pasted.nodes.length) return this.toast("Nothing to paste: copy nodes first (Ctrl+C).");
    for (const node of pasted.nodes) {
      this.canvas.addNode(node, pasted.views[node.id] || this.palette.get(node.type)?.view);
    }
    this.canvas.addEdges(pasted.edges);
    this.commit("paste");
    this.selection.set(pasted.nodes.map((node) => node.id));
  }

  duplicate() {
    const doc = this.clipboard();
    if (!doc.nodes.length) return this.toast("Select nodes to duplicate first.");
    this.paste(doc);
  }

  // Settings panel.

  clearSettings() {
    $("#panel-settings").replaceChildren();
  }

  // "Arrange": every node moved to a layered layout, as one edit (undo puts them back).
  arrange() {
    if (this.mode || !this.canvas.order.length) return;
    const box = this.canvas.bounds();
    this.canvas.placeAll(layered(measure(this.canvas), { x: box.x, y: box.y }));
    this.canvas.home();
  }

  // `how.focus`: the settings were opened from the keyboard, so the focus moves into the form
  // (and Escape brings it back to the node); a click leaves the focus on the canvas, where
  // Delete and the other keys act on the selection.
  openNode(id, how = {}) {
    if (this.mode) return;
    const node = this.canvas.node(id);
    if (!node) return;
    this.panels.opening = { id, focus: Boolean(how.focus) };
    this.panels.show("settings");
    const values = { node: JSON.stringify(node), graph: JSON.stringify(this.history.current().graph) };
    window.htmx.ajax("POST", this.urls.node_form, { target: "#panel-settings", swap: "innerHTML", values });
  }

  applyNode(node, view) {
    if (!this.canvas.records.has(node.id)) return this.toast("That node is no longer on the canvas.");
    this.canvas.updateNode(node, view);
    this.selection.redraw();
    this.commit("settings");
  }

  openTrigger() {
    if (this.mode) return;
    this.panels.show("settings");
    const values = { trigger: JSON.stringify(this.trigger) };
    const target = { target: "#panel-settings", swap: "innerHTML", values };
    window.htmx.ajax("POST", this.urls.trigger_form, target);
  }

  applyTrigger(trigger, summary) {
    this.trigger = trigger;
    this.setSummary(summary);
    this.commit("trigger");
  }

  // The problem list and the jumps from it (or from a run's steps) to nodes.

  saved(answer) {
    document.title = answer.name + " · Editor"; // not the field: the person may be typing in it
    this.issues = answer.issues;
    this.showIssues(answer.issues, answer.issues_html);
  }

  showIssues(issues, html) {
    this.issues = issues;
    window.htmx.swap("#panel-problems", html, { swapStyle: "innerHTML" });
    $("#problem-count").textContent = String(issues.length);
    const triggerProblem = issues.some((issue) => !issue.node && (issue.field || "").startsWith("trigger"));
    $("#trigger-button").classList.toggle("has-error", triggerProblem);
    markIssues(this.canvas, issues);
  }

  jump(nodeId, field, open) {
    if (nodeId && this.canvas.records.has(nodeId)) {
      this.selection.set([nodeId]);
      this.canvas.centre(nodeId);
      if (open) this.openNode(nodeId);
    } else if (field.startsWith("trigger")) {
      this.openTrigger();
    }
  }

  // Conflicts, publishing, versions and diffs: see editor/versions.js.

  conflicted(theirs) {
    this.theirs = theirs;
    $("#conflict-dialog").showModal();
  }

  banner(text) {
    $("#canvas-banner-text").textContent = text;
    $("#canvas-banner").hidden = !text;
  }

  exitMode() {
    clearPath(this.canvas, "trace");
    this.banner("");
    if (!this.mode) return;
    this.mode = null;
    this.canvas.setReadOnly(false);
    this.restore(this.history.current());
  }

  // Simulator, runs and analytics on the canvas.

  restoreVersion(url, number) {
    return restoreVersion(this, url, number);
  }

  showDiff(url, from, to) {
    return showVersionDiff(this, url, from, to);
  }

  showSimulation(sim) {
    const path = sim && sim.status ? { nodes: sim.path, ports: sim.ports, active: sim.active } : null;
    showPath(this.canvas, "sim", path);
  }

  showTrace(trace, runId) {
    if (!trace) return clearPath(this.canvas, "trace");
    showPath(this.canvas, "trace", { nodes: trace.nodes, ports: trace.ports, active: trace.current });
    this.banner("Showing the path of run #" + runId);
  }

  async loadStats() {
    const url = this.urls.stats_overlay + "?days=" + encodeURIComponent($("#stats-period").value);
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (response.ok && $("#stats-toggle").checked) showStats(this.canvas, await response.json());
  }

  bindToolbar() {
    const actions = {
      undo: () => this.undo(),
      redo: () => this.redo(),
      "zoom-in": () => this.canvas.zoomBy(1),
      "zoom-out": () => this.canvas.zoomBy(-1),
      fit: () => this.canvas.fit(),
      arrange: () => this.arrange(),
      duplicate: () => this.duplicate(),
      delete: () => this.remove(),
      publish: () => publish(this, false),
      "publish-confirm": () => ($("#publish-dialog").close(), publish(this, true)),
      "dialog-close": (button) => button.closest("dialog").close(),
      "keep-mine": () => resolveConflict(this, true),
      "load-theirs": () => resolveConflict(this, false),
      "exit-mode": () => this.exitMode(),
    };
    $("#editor").addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (button && actions[button.dataset.action]) actions[button.dataset.action](button);
    });
    $("#trigger-button").addEventListener("click", () => this.openTrigger());
    const toggle = $("#stats-toggle");
    toggle.addEventListener("change", () => {
      $("#stats-period").hidden = !toggle.checked;
      if (toggle.checked) this.loadStats();
      else clearStats(this.canvas);
    });
    $("#stats-period").addEventListener("change", () => this.loadStats());
    $("#automation-name").addEventListener("change", (event) => {
      document.title = event.target.value + " · Editor · Flowapp";
    });
  }

  bindPalette() {
    const palette = $(".palette");
    palette.addEventListener("click", (event) => {
      const item = event.target.closest(".palette-item");
      // detail is 0 for a click made with Enter or Space.
      if (item) this.add(item.dataset.type, undefined, undefined, { focus: event.detail === 0 });
    });
    palette.addEventListener("dragstart", (event) => {
      const item = event.target.closest(".palette-item");
      if (!item) return;
      event.dataTransfer.setData("application/x-flowapp-node", item.dataset.type);
      event.dataTransfer.setData("text/plain", item.dataset.type);
      event.dataTransfer.effectAllowed = "copy";
    });
    const canvas = this.canvas.container;
    canvas.addEventListener("dragover", (event) => {
      if (event.dataTransfer.types.includes("application/x-flowapp-node")) event.preventDefault();
    });
    canvas.addEventListener("drop", (event) => {
      const type = event.dataTransfer.getData("application/x-flowapp-node");
      if (!type) return;
      event.preventDefault();
      this.add(type, event.clientX, event.clientY);
    });
  }
}

function boot() {
  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const editor = new Editor(data);
  // A handle for the browser tests and the benchmark (the round trip reads serialize()).
  window.flowappEditor = editor;
  editor.readyAt = performance.now();
  document.documentElement.dataset.editorReady = "true";
  document.dispatchEvent(new CustomEvent("flowapp:editor-ready", { detail: { ms: editor.readyAt } }));
}

boot();
