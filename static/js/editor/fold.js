// Folding the palette and the side panel away, to give the canvas their room. Each has a
// disclosure button (aria-expanded); the choice is kept in this browser's local storage.

const KEY = "flowapp.editor.folded";

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "{}") || {};
  } catch {
    return {};
  }
}

export class Folds {
  constructor(root) {
    this.buttons = new Map();
    for (const button of root.querySelectorAll("[data-fold]")) {
      const name = button.dataset.fold;
      this.buttons.set(name, button);
      button.addEventListener("click", () => this.set(name, !this.folded(name)));
    }
    const kept = remembered();
    for (const name of this.buttons.keys()) this.set(name, Boolean(kept[name]), false);
  }

  folded(name) {
    return this.buttons.get(name)?.getAttribute("aria-expanded") === "false";
  }

  set(name, folded, remember = true) {
    const button = this.buttons.get(name);
    if (!button) return;
    document.getElementById(button.getAttribute("aria-controls")).hidden = folded;
    button.closest("aside").classList.toggle("is-folded", folded);
    button.setAttribute("aria-expanded", String(!folded));
    button.title = (folded ? "Show " : "Hide ") + button.dataset.what;
    if (!remember) return;
    const kept = remembered();
    kept[name] = folded;
    localStorage.setItem(KEY, JSON.stringify(kept));
  }
}
