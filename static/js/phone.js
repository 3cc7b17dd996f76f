// The phone simulator: the chat follows new messages like a phone does. When the chat is redrawn
// (every second, or after the customer sends), it scrolls to the newest message if the reader was
// at the bottom or a message arrived; someone reading further up is left where they are.
(function () {
  "use strict";

  var NEAR = 80; // px from the bottom that still counts as "at the bottom"
  var before = null;

  function thread() {
    return document.getElementById("phone-thread");
  }

  function atBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < NEAR;
  }

  function toBottom() {
    var el = thread();
    if (el) el.scrollTop = el.scrollHeight;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var el = thread();
    if (!el || event.detail.target !== el) return;
    before = { atBottom: atBottom(el), count: el.querySelectorAll(".bubble").length, top: el.scrollTop };
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var el = thread();
    if (!el || event.detail.target !== el || !before) return;
    if (before.atBottom || el.querySelectorAll(".bubble").length > before.count) toBottom();
    else el.scrollTop = before.top;
    before = null;
  });

  document.addEventListener("DOMContentLoaded", toBottom);
})();
