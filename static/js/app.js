// Flowapp's shared page script: CSRF on every HTMX request, and nothing else global.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    // Flask-WTF reads this header, so every state-changing HTMX request carries the token.
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });
  window.flowapp = { csrfToken: csrfToken };
})();
