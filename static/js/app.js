// Flowapp's shared page script: CSRF on every HTMX request, menus that close like menus.
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
  document.addEventListener("htmx:beforeSwap", function (event) {
    // Fragments answered 409 (changed elsewhere: here is how it is now) or 422 (refused, with the
    // reason) are meant to be shown, like a 200; htmx leaves error answers out by default.
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    // Forms marked data-reset-on-success clear themselves once the server accepted them.
    var form = event.detail.elt;
    if (event.detail.successful && form.matches && form.matches("form[data-reset-on-success]")) {
      form.reset();
      var first = form.querySelector("input:not([type=hidden]), textarea");
      if (first) first.focus();
    }
  });
  function closeMenus(keep) {
    document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
      if (menu !== keep) menu.removeAttribute("open");
    });
  }
  // A <details> menu stays open by itself; close it like a menu: click elsewhere, or Escape.
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.row-menu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });
  window.flowapp = { csrfToken: csrfToken };
})();
