// Moving the focus between the page, the canvas's nodes and their settings: the skip link that
// leads past the menu and the toolbar to the graph, and Escape from a node's settings back to it.
// (Opening a node's settings from the keyboard moves the focus into them: see panels.js.)

// Focus a node, bringing it into view first when it is not wholly on screen.
export function focusNode(editor, id) {
  const canvas = editor.canvas;
  const element = canvas.nodeElement(id);
  if (!element) return;
  if (!canvas.inView(id)) canvas.centre(id);
  element.focus({ preventScroll: true });
}

// "Skip to canvas" goes to the start node (the first in the document when there is none).
export function bindSkipLink(editor) {
  document.getElementById("skip-to-canvas").addEventListener("click", (event) => {
    event.preventDefault();
    const canvas = editor.canvas;
    const first = canvas.order.find((id) => canvas.records.get(id).node.type === "start") || canvas.order[0];
    if (first) focusNode(editor, first);
    else canvas.container.focus();
  });
}

// Escape in a node's settings: back to the node. The form closes unless it holds changes not yet
// saved on the canvas (Escape never throws work away; the toast says how to keep them).
export function leaveSettings(editor) {
  const id = document.getElementById("node-form-wrap")?.dataset.nodeId;
  if (!id) return;
  if (editor.panels.formChanged()) {
    editor.toast("Your changes to these settings are not saved yet: “Save settings” keeps them.");
  } else {
    document.getElementById("panel-settings").replaceChildren(editor.panels.settingsHint.cloneNode(true));
  }
  focusNode(editor, id);
}
