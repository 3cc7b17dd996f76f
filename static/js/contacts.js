// The contacts page: "select all on this page" ticks or clears every row's box. Delegated from the
// document, so it keeps working after htmx swaps the list.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("#contact-list .select-page")) return;
    box.closest("form").querySelectorAll('input[name="ids"]').forEach(function (row) {
      row.checked = box.checked;
    });
  });
})();
