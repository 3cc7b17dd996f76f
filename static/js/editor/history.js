// Undo and redo: a stack of snapshots of the editor's document ({graph, trigger, ...}). Each edit
// pushes one; undo and redo move along the stack and the editor draws the snapshot again.

export class History {
  constructor(limit = 200) {
    this.limit = limit;
    this.past = [];
    this.future = [];
  }

  static key(snapshot) {
    return JSON.stringify([snapshot.graph, snapshot.trigger]);
  }

  reset(snapshot) {
    this.past = [{ ...snapshot, key: History.key(snapshot) }];
    this.future = [];
  }

  current() {
    return this.past[this.past.length - 1];
  }

  // Record an edit; false when nothing changed (a click that moved nothing).
  push(snapshot) {
    const key = History.key(snapshot);
    if (this.current() && this.current().key === key) return false;
    this.past.push({ ...snapshot, key });
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
    return true;
  }

  undo() {
    if (this.past.length < 2) return null;
    this.future.push(this.past.pop());
    return this.current();
  }

  redo() {
    if (!this.future.length) return null;
    this.past.push(this.future.pop());
    return this.current();
  }

  get canUndo() {
    return this.past.length > 1;
  }

  get canRedo() {
    return this.future.length > 0;
  }
}
