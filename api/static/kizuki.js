/* Kizuki: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (form) {
    form.addEventListener("submit", function () {
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
})();
