// keelson dashboard script: optional enhancements only; every table and
// chart is already in the HTML. Filters narrow tables as you type; on the
// live control plane the page reloads when the status history changes.
"use strict";
(function () {
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (!table) return;
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) < 0;
      });
    });
  });
  if (document.body.getAttribute("data-live") !== "1") return;
  var root = document.body.getAttribute("data-root") || "";
  var seen = null;
  function fingerprint(model) {
    var e = model.events && model.events[0], d = model.deploys && model.deploys[0];
    return (e ? e.sha : "") + "/" + (d ? d.sha : "") + "/" + (model.events ? model.events.length : 0);
  }
  function poll() {
    fetch(root + "data.json", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (model) {
        if (!model) return;
        var f = fingerprint(model);
        if (seen !== null && f !== seen) window.location.reload();
        seen = f;
      })
      .catch(function () { /* the control plane restarts: try again later */ })
      .then(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
