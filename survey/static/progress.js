// Live progress: refresh the table from progress.json every 15 s, without
// reloading the page. The JSON address is the table's data-refresh-url.
(function () {
  "use strict";
  var table = document.getElementById("progress");
  if (!table || !window.fetch) return;
  var url = table.getAttribute("data-refresh-url");
  function pct(x) { return x === null ? "—" : Math.round(x * 100) + "%"; }
  function dur(s) { if (s === null) return "—"; s = Math.floor(s); var r = s % 60; return Math.floor(s / 60) + ":" + (r < 10 ? "0" : "") + r; }
  function value(row, key) { return key.split(".").reduce(function (o, k) { return o[k]; }, row); }
  function fill(row) {
    var tr = table.querySelector('tr[data-code="' + row.code + '"][data-kind="' + row.kind + '"]');
    if (!tr) return false;
    Array.prototype.forEach.call(tr.querySelectorAll("[data-k]"), function (td) {
      var v = value(row, td.dataset.k);
      td.textContent = td.dataset.f === "pct" ? pct(v) : td.dataset.f === "dur" ? dur(v) : (v === null ? "—" : v);
    });
    return true;
  }
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var missing = data.rows.concat([data.total]).map(fill).indexOf(false) >= 0;
        if (missing) { location.reload(); return; }  // a new unit appeared: redraw once
        document.getElementById("updated").textContent = data.generated_at.slice(11, 19);
      })
      .catch(function () {});
  }
  setInterval(refresh, 15000);
})();
