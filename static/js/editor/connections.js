// Drawing edges without a mouse: under a node's settings, one labelled list per port naming the
// node it leads to. Choosing another node connects that port on the canvas; "nothing" disconnects it.
import { el } from "./canvas.js";

export function showConnections(canvas) {
  const wrap = document.getElementById("node-form-wrap");
  const nodeId = wrap?.dataset.nodeId;
  const rec = nodeId && canvas.records.get(nodeId);
  if (!rec) return;
  const targets = canvas.order.filter((id) => id !== nodeId && canvas.records.get(id).view.inputs);
  const shape = JSON.stringify([nodeId, rec.view.ports, targets]);
  let box = document.getElementById("node-connections");
  if (!box) {
    box = el("fieldset", "connections");
    box.id = "node-connections";
    wrap.querySelector("#node-form").after(box);
    box.addEventListener("change", (event) => {
      const select = event.target.closest("select[data-port]");
      if (select) canvas.setEdge(box.dataset.nodeId, select.dataset.port, select.value || null);
    });
  }
  if (box.dataset.shape !== shape) {
    // Rebuilt only when ports or nodes changed, so a list keeps its focus while it is being used.
    box.dataset.shape = shape;
    box.dataset.nodeId = nodeId;
    const rows = rec.view.ports.map((port, i) => portRow(canvas, rec, port, i, targets));
    box.replaceChildren(
      el("legend", "", "Connections"),
      ...(rows.length ? rows : [el("p", "muted", "This node has no ports: a run ends here.")]),
    );
  }
  for (const select of box.querySelectorAll("select[data-port]")) {
    select.value = canvas.targetOf(nodeId, select.dataset.port) || "";
  }
}

function portRow(canvas, rec, port, index, targets) {
  const id = "f-connect-" + index;
  const label = el("label", "", "“" + (rec.view.labels[port] || port) + "” leads to");
  label.htmlFor = id;
  const nothing = el("option", "", "nothing (the run ends)");
  nothing.value = "";
  const options = targets.map((target) => {
    const other = canvas.records.get(target);
    const option = el("option", "", (other.node.label || other.view.title) + " (" + target + ")");
    option.value = target;
    return option;
  });
  const select = el("select", "", [nothing, ...options]);
  select.id = id;
  select.dataset.port = port;
  return el("div", "field", [label, select]);
}
