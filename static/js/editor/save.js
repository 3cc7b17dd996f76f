// Saving: autosave a moment after each edit, with the state always on screen. Every save sends
// the revision it is based on; a 409 means the automation changed elsewhere first (another tab,
// another person, the API), and the person chooses. The name is saved with the draft, so a rename
// and a canvas edit never race each other for the same revision.

const DELAY_MS = 900;
const LABELS = {
  saved: "Saved",
  unsaved: "Unsaved changes",
  saving: "Saving…",
  error: "Not saved",
  conflict: "Not saved: changed elsewhere",
};

export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": window.flowapp.csrfToken(),
    },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ error: "The server answered " + response.status }));
  return { ok: response.ok, status: response.status, data };
}

export class Saver {
  constructor({ url, revision, indicator, snapshot, saved, conflict }) {
    Object.assign(this, { url, revision, indicator, snapshot, saved, conflict });
    this.dirty = false;
    this.blocked = false; // while a conflict waits for the person's choice
    this.inflight = null;
    this.timer = null;
    window.addEventListener("beforeunload", (event) => {
      if (this.dirty || this.inflight) event.preventDefault();
    });
  }

  show(state, message) {
    this.indicator.dataset.state = state;
    this.indicator.textContent = LABELS[state] + (message ? ": " + message : "");
  }

  changed() {
    this.dirty = true;
    if (this.blocked) return;
    this.show("unsaved");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), DELAY_MS);
  }

  save() {
    clearTimeout(this.timer);
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    if (!this.dirty || this.blocked) return Promise.resolve(!this.dirty);
    const snapshot = this.snapshot();
    this.dirty = false;
    this.show("saving");
    const body = { graph: snapshot.graph, trigger: snapshot.trigger, base_revision: this.revision };
    if (snapshot.name) body.name = snapshot.name;
    this.inflight = postJSON(this.url, body)
      .then((answer) => this.answered(answer))
      .catch(() => {
        this.dirty = true;
        this.show("error", "the server cannot be reached");
      })
      .finally(() => {
        this.inflight = null;
        if (this.again) {
          this.again = false;
          return this.save();
        }
        return !this.dirty;
      });
    return this.inflight;
  }

  answered({ ok, status, data }) {
    if (ok) {
      this.revision = data.revision;
      this.saved(data);
      this.show(this.dirty ? "unsaved" : "saved");
    } else if (status === 409) {
      this.dirty = true;
      this.conflicted(data);
    } else {
      this.dirty = true;
      this.show("error", data.error || "the server answered " + status);
    }
  }

  // Another change (publishing, restoring) was refused because the automation changed elsewhere.
  conflicted(data) {
    this.blocked = true;
    this.show("conflict");
    this.conflict(data);
  }

  // Save now (Ctrl+S, before publishing); true once nothing is left unsaved.
  async flush() {
    clearTimeout(this.timer);
    for (let attempt = 0; attempt < 3 && (this.dirty || this.inflight) && !this.blocked; attempt++) {
      await this.save();
    }
    return !this.dirty && !this.inflight;
  }

  // The person chose after a conflict: "mine" overwrites from `revision`, "theirs" was loaded.
  resolved(revision, keepMine) {
    this.blocked = false;
    this.revision = revision;
    if (keepMine) {
      this.dirty = true;
      return this.save();
    }
    this.dirty = false;
    this.show("saved");
    return Promise.resolve(true);
  }
}
