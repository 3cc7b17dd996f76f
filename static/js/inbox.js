// The inbox page: quiet polls, a thread that stays at its newest message, and the composer's helpers.
// No customer text is ever inserted as HTML here: values are set with .value and .textContent only.
(function () {
  "use strict";

  // A poll answered 304 means "nothing changed": keep what is on the page (htmx would swap it empty).
  if (window.htmx) {
    window.htmx.config.responseHandling.unshift({ code: "304", swap: false });
  }

  // Polls rest while the tab is hidden and catch up at once when it shows again.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute && elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && window.htmx) window.htmx.trigger(document.body, "inbox-changed");
  });

  function scroller() {
    return document.getElementById("thread-scroll");
  }

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }

  function toBottom() {
    var el = scroller();
    if (el) el.scrollTop = el.scrollHeight;
  }

  // Before a thread swap remember where the reader was; after it, follow new messages if they were
  // at the bottom, and keep the same messages in view when earlier ones are added above.
  var pending = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var el = scroller();
    var target = event.detail.target;
    if (!el || !target || !el.contains(target)) return;
    pending = {
      earlier: target.classList.contains("earlier"),
      wasAtBottom: nearBottom(el),
      height: el.scrollHeight,
      top: el.scrollTop,
    };
  });
  document.addEventListener("htmx:afterSettle", function () {
    var el = scroller();
    if (!el || !pending) return;
    if (pending.earlier) {
      el.scrollTop = pending.top + (el.scrollHeight - pending.height);
    } else if (pending.wasAtBottom) {
      toBottom();
    }
    pending = null;
  });
  document.addEventListener("DOMContentLoaded", toBottom);

  function textarea() {
    return document.getElementById("compose-text");
  }

  function clearSuggestions() {
    var box = document.getElementById("canned-suggestions");
    if (box) box.replaceChildren();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var box = textarea();
    var insert = target.closest("[data-insert]");
    if (insert && box && !box.disabled) {
      box.setRangeText(insert.getAttribute("data-insert"), box.selectionStart, box.selectionEnd, "end");
      box.focus();
      return;
    }
    var canned = target.closest("[data-replace]");
    if (canned && box) {
      box.value = canned.getAttribute("data-replace");
      clearSuggestions();
      box.focus();
      return;
    }
    var reply = target.closest("[data-reply-wamid]");
    if (reply) {
      setReply(reply.getAttribute("data-reply-wamid"), reply.getAttribute("data-reply-text"));
      return;
    }
    if (target.closest("[data-cancel-reply]")) setReply("", "");
  });

  function setReply(wamid, text) {
    var field = document.getElementById("reply-to");
    var note = document.getElementById("replying");
    if (!field || !note) return;
    field.value = wamid;
    note.querySelector(".replying-text").textContent = wamid ? "Replying to: " + text : "";
    note.hidden = !wamid;
    var box = textarea();
    if (box && wamid) box.focus();
  }

  // "/" at the start of the composer asks for canned responses by shortcut.
  var timer = null;
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box || box.id !== "compose-text") return;
    window.clearTimeout(timer);
    if (!/^\/\S*$/.test(box.value)) {
      clearSuggestions();
      return;
    }
    timer = window.setTimeout(function () {
      var url = box.getAttribute("data-canned-url") + "?q=" + encodeURIComponent(box.value);
      window.htmx.ajax("GET", url, { target: "#canned-suggestions", swap: "innerHTML" });
    }, 200);
  });

  // Enter sends; Shift+Enter starts a new line.
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!box || box.id !== "compose-text" || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (box.value.trim() && box.form) box.form.requestSubmit();
  });

  // A fresh composer (after a send) gets the focus back.
  document.addEventListener("htmx:afterSwap", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("#composer") && elt.id !== "composer") {
      var box = textarea();
      if (box && !box.disabled) box.focus();
    }
  });

  // Drafts are never lost. The composer is redrawn by its poll when the 24-hour window moves (the
  // customer wrote again): what the agent was typing, where the caret was and the quoted message
  // are put back into the new one. And each conversation's draft is kept in this browser
  // (localStorage) as it is typed, so it survives opening another conversation or reloading; it is
  // forgotten once the server accepted the message.
  var DRAFT_KEY = "flowapp.draft.";

  function composer() {
    return document.getElementById("composer");
  }

  function draftKey() {
    var section = composer();
    return section ? DRAFT_KEY + section.getAttribute("data-conversation") : null;
  }

  function keep(value) {
    var key = draftKey();
    if (!key) return;
    try {
      if (value) window.localStorage.setItem(key, value);
      else window.localStorage.removeItem(key);
    } catch (error) {
      // Storage full or refused (private mode): the draft still survives redraws, not reloads.
    }
  }

  function kept() {
    var key = draftKey();
    try {
      return key ? window.localStorage.getItem(key) || "" : "";
    } catch (error) {
      return "";
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "compose-text") keep(event.target.value);
  });

  var live = null; // the composer's state just before something other than a send redraws it
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var box = textarea();
    if (!target || target.id !== "composer" || !box) return;
    // Only sending the text itself consumes the draft; a poll, a template or an upload keeps it.
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    var sendsText = Boolean(elt && elt.id === "compose-form");
    var reply = document.getElementById("reply-to");
    live = !sendsText
      ? {
          value: box.value,
          start: box.selectionStart,
          end: box.selectionEnd,
          focused: document.activeElement === box,
          reply: reply ? reply.value : "",
          replyText: (document.querySelector("#replying .replying-text") || {}).textContent || "",
        }
      : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var section = composer();
    // An outerHTML swap reports the element it replaced: the old composer, with the same id.
    if (!section || !event.detail.target || event.detail.target.id !== "composer") return;
    var box = textarea();
    if (live) {
      restore(box, live);
    } else if (section.getAttribute("data-sent") === "true") {
      keep(""); // a send the server accepted: the draft became a message
    } else if (box) {
      keep(box.value); // refused: the server gave the draft back with the reason
    }
    live = null;
  });

  function restore(box, state) {
    if (!box || box.disabled) return; // the window closed: the draft stays stored for later
    box.value = state.value;
    if (state.reply) setReply(state.reply, state.replyText.replace(/^Replying to: /, ""));
    if (state.focused) {
      box.focus();
      box.setSelectionRange(state.start, state.end);
    }
  }

  // Opening a conversation brings back its unsent draft.
  function bringBack() {
    var box = textarea();
    var draft = kept();
    if (box && !box.disabled && !box.value && draft) box.value = draft;
  }
  document.addEventListener("DOMContentLoaded", bringBack);
})();
