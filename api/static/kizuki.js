/* Kizuki: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (form) {
    form.addEventListener("submit", function () {
      /* The search is sent in the address (shareable); a text too long for an address is
       * posted instead (the server answers both the same way). */
      var maxUrl = parseInt(form.dataset.maxUrl || "0", 10);
      if (maxUrl && window.URLSearchParams && window.FormData) {
        var query = new URLSearchParams(new FormData(form)).toString();
        if (query.length + 2 > maxUrl) form.method = "post";
      }
      var button = form.querySelector("button[type=submit]");
      if (button && button.dataset.busy) {
        button.textContent = button.dataset.busy;
        button.classList.add("busy");
      }
    });
    var area = form.querySelector("textarea");
    if (area) {
      /* Ctrl/Cmd+Enter submits, as in most paste-and-search tools. */
      area.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        }
      });
    }
  }
  /* On a narrow screen the results are below a tall form: bring them into view. */
  var top = document.getElementById("results-top");
  if (top && window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
    top.scrollIntoView({block: "start"});
  }
})();

/* Change review: a print button (the page's print style leaves the checklist and its evidence). */
(function () {
  var button = document.querySelector("[data-print]");
  if (button) {
    button.addEventListener("click", function (evt) { evt.preventDefault(); window.print(); });
  }
})();
