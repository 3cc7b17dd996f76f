// Keyboard shortcuts: Delete, Ctrl+Z, Ctrl+Shift+Z (or Ctrl+Y), Ctrl+C, Ctrl+V, Ctrl+D, Ctrl+A,
// Ctrl+S, Escape. Typing in a field keeps its own keys; only Ctrl+S works everywhere, and Escape
// in a node's settings goes back to the node.

import { leaveSettings } from "./focus.js";

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable]") !== null;
}

function textSelected() {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed) return false;
  return !document.getElementById("canvas").contains(selection.anchorNode);
}

// Delete acts on the canvas's selection only when nothing else has the focus (a focused button in
// the side panel must not delete nodes).
function onCanvas(target) {
  return target === document.body || target.closest("#canvas-wrap, .palette, .editor-bar") !== null;
}

export function bindKeys(editor) {
  document.addEventListener("keydown", (event) => {
    const key = event.key.toLowerCase();
    const command = event.ctrlKey || event.metaKey;
    if (command && key === "s") {
      event.preventDefault();
      editor.saver.flush();
      return;
    }
    if (event.key === "Escape" && event.target.closest && event.target.closest("#node-form-wrap")) {
      event.preventDefault();
      leaveSettings(editor);
      return;
    }
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    const actions = {
      z: () => (event.shiftKey ? editor.redo() : editor.undo()),
      y: () => editor.redo(),
      c: () => editor.copy(),
      v: () => editor.paste(),
      d: () => editor.duplicate(),
      a: () => editor.selection.all(),
    };
    if (command && actions[key]) {
      if (key === "c" && textSelected()) return; // copying text from a panel stays a text copy
      event.preventDefault();
      actions[key]();
    } else if (!command && (event.key === "Delete" || event.key === "Backspace") && onCanvas(event.target)) {
      event.preventDefault();
      editor.remove();
    } else if (event.key === "Escape") {
      editor.selection.set([]);
      editor.exitMode();
    }
  });
}
