// The contacts page: "select all on this page" ticks or clears every row's box, and offers to select
// every page of the filters; clearing a row's box or the selection goes back to the ticked rows.
// Delegated from the document, so it keeps working after htmx swaps the list.
(function () {
  "use strict";
  function banner(form) {
    return form.querySelector("[data-select-all]");
  }
  function clearMatching(form) {
    var all = form.querySelector('input[name="all_matching"]');
    if (all) all.remove();
    var box = banner(form);
    if (box && box.dataset.initial) {
      box.innerHTML = box.dataset.initial;
      if (window.htmx) window.htmx.process(box); // its button asks the server again
    }
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches) return;
    var form = box.closest("#contact-list");
    if (!form) return;
    if (box.matches(".select-page")) {
      form.querySelectorAll('input[name="ids"]').forEach(function (row) {
        row.checked = box.checked;
      });
      var shown = banner(form);
      if (shown) {
        if (!shown.dataset.initial) shown.dataset.initial = shown.innerHTML;
        if (!box.checked) clearMatching(form);
        shown.hidden = !box.checked;
      }
    } else if (box.matches('input[name="ids"]') && !box.checked) {
      var page = form.querySelector(".select-page");
      if (page) page.checked = false;
      clearMatching(form);
      if (banner(form)) banner(form).hidden = true;
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-clear-selection]");
    if (!button) return;
    var form = button.closest("#contact-list");
    form.querySelectorAll('input[name="ids"], .select-page').forEach(function (row) {
      row.checked = false;
    });
    clearMatching(form);
    banner(form).hidden = true;
  });
})();
