// Conflicts, publishing, versions and diffs: what the editor does with the server's history of
// this automation. Each function takes the editor (editor.js) it works for.

import { showDiff } from "./overlays.js";
import { postJSON } from "./save.js";

const $ = (selector) => document.querySelector(selector);

export function resolveConflict(editor, keepMine) {
  $("#conflict-dialog").close();
  const theirs = editor.theirs;
  if (!keepMine) {
    editor.showHeader(theirs.name, theirs.automation_status);
    editor.canvas.render(theirs.graph, theirs.views);
    editor.trigger = theirs.trigger;
    editor.setSummary(theirs.trigger_summary);
    editor.history.push(editor.snapshot()); // undo brings your version back
    editor.showIssues(theirs.issues, theirs.issues_html);
    editor.afterChange();
  }
  editor.saver.resolved(theirs.revision, keepMine);
}

export async function publish(editor, confirm) {
  if (!(await editor.saver.flush())) {
    return editor.toast("Your changes are not saved yet, so nothing was published.");
  }
  const body = { revision: editor.saver.revision, confirm: Boolean(confirm) };
  const { ok, status, data } = await postJSON(editor.urls.publish, body);
  if (ok && !data.needs_confirmation) {
    editor.saver.revision = data.revision; // publishing is a change too
    editor.toast(data.message);
    editor.showHeader(null, data.status);
    if (!$("#panel-versions").hidden) editor.panels.show("versions");
  } else if (status === 409) {
    editor.saver.conflicted(data);
  } else if (ok) {
    // Warnings only: a question for the person (200), not a failure; nothing was published yet.
    const items = data.issues.map((issue) => {
      const item = document.createElement("li");
      item.textContent = (issue.node ? issue.node + ": " : "") + issue.message;
      return item;
    });
    $("#publish-warnings").replaceChildren(...items);
    $("#publish-dialog").showModal();
  } else {
    editor.toast(data.error || "Publishing failed.");
    if (status === 422) editor.panels.show("problems");
  }
}

export async function restoreVersion(editor, url, number) {
  if (!window.confirm("Make version " + number + " the draft? You can undo this.")) return;
  if (!(await editor.saver.flush())) {
    return editor.toast("Your changes are not saved yet, so nothing was restored.");
  }
  const { ok, status, data } = await postJSON(url, { base_revision: editor.saver.revision });
  if (status === 409) return editor.saver.conflicted(data);
  if (!ok) return editor.toast(data.error || "Restoring failed.");
  editor.exitMode();
  editor.canvas.render(data.graph, data.views);
  editor.trigger = data.trigger;
  editor.setSummary(data.trigger_summary);
  editor.history.push(editor.snapshot());
  editor.saver.revision = data.revision; // the server holds this draft already
  editor.showIssues(data.issues, data.issues_html);
  editor.afterChange();
  editor.toast(data.message);
}

export async function showVersionDiff(editor, url, from, to) {
  await editor.saver.flush();
  const query = new URLSearchParams({ from, to });
  const response = await fetch(url + "?" + query, { headers: { Accept: "application/json" } });
  const data = await response.json();
  if (!response.ok) return editor.toast(data.error || "Cannot compare those versions.");
  editor.mode = "diff";
  editor.selection.set([]);
  showDiff(editor.canvas, data.from, data.to, data.diff);
  editor.canvas.fit();
  const d = data.diff;
  const counts = [[d.added, "added"], [d.removed, "removed"], [d.changed, "changed"], [d.moved, "moved"]];
  const summary = counts.map(([ids, what]) => ids.length + " " + what).join(", ");
  editor.banner(data.from.title + " → " + data.to.title + ": " + summary);
}
