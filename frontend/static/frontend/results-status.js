/* The dashboard shows a snapshot computed by a worker. While a newer one is being computed,
 * poll its status: a page that had nothing to show yet reloads itself when it is ready; a page
 * showing the last snapshot offers a link instead of reloading under the reader. */
(function () {
  "use strict";
  var box = document.getElementById("results-status");
  if (!box || box.dataset.state === "current") return;
  var wanted = Number(box.dataset.version);
  var delay = 1500;

  function ready(status) {
    return status && status.computed_version !== null && status.computed_version >= wanted;
  }

  function check() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (ready(status)) {
          if (box.dataset.state === "computing") {
            window.location.reload();
            return;
          }
          box.querySelector(".state").hidden = true;
          box.querySelector(".reload").hidden = false;
          return;
        }
        delay = Math.min(delay * 1.5, 15000);
        window.setTimeout(check, delay);
      })
      .catch(function () { window.setTimeout(check, 15000); });
  }
  window.setTimeout(check, delay);
})();
