/* A <select data-autosubmit> submits its form when changed (the page's CSP allows no inline
 * handlers; without script, the form's own button does the same). */
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
