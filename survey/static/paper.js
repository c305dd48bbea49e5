// Paper questionnaire entry, keyboard only: Enter moves to the next input
// that applies, Enter on the last one saves the sheet. Questions whose
// condition fails (show_if), and every question after an ineligible
// screening answer, are greyed out and skipped, as form.js's update() hides
// them on a resident's phone; the server checks the same again.
(function () {
  "use strict";
  var form = document.getElementById("paper-form");
  if (!form) return;
  var rows = Array.prototype.slice.call(form.querySelectorAll(".prow.q"));
  var byId = {};
  rows.forEach(function (r) { byId[r.dataset.qid] = r; });

  // The option codes a row's typed numbers name (1 = first option); the
  // text itself for number and text rows. Numbers naming no option are left out.
  function values(qid) {
    var row = byId[qid];
    if (!row) return [];
    var input = row.querySelector("input"), text = (input.value || "").trim();
    if (!row.dataset.codes) return text ? [text] : [];
    var codes = row.dataset.codes.split(" "), out = [];
    text.replace(/[０-９]/g, function (d) { return String.fromCharCode(d.charCodeAt(0) - 0xFEE0); })
      .split(/[\s,，、;；\/]+/).forEach(function (token) {
        if (/^\d+$/.test(token)) {
          var n = parseInt(token, 10);
          if (n >= 1 && n <= codes.length) out.push(codes[n - 1]);
        }
      });
    return out;
  }

  function update() {
    var ended = false;
    rows.forEach(function (r) {
      var show = !ended;
      if (show && r.dataset.showIf) {
        var codes = r.dataset.showCodes.split(" "), got = values(r.dataset.showIf), parent = byId[r.dataset.showIf];
        show = got.some(function (v) { return codes.indexOf(v) >= 0; }) && !(parent && parent.classList.contains("skipped"));
      }
      r.classList.toggle("skipped", !show);
      r.querySelector("input").disabled = !show;
      var screened = r.querySelector(".screened");
      if (screened) {
        var v = values(r.dataset.qid), out = show && v.length > 0 && r.dataset.eligible.split(" ").indexOf(v[0]) < 0;
        screened.hidden = !out;
        if (out) ended = true;
      }
    });
  }

  function inputs() {
    return Array.prototype.filter.call(form.querySelectorAll(".pin"), function (el) { return !el.disabled; });
  }

  function submit() {
    update();
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  form.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || ev.isComposing || ev.shiftKey || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var el = ev.target;
    if (!el.classList || !el.classList.contains("pin")) return;
    ev.preventDefault();
    update();
    var list = inputs(), at = list.indexOf(el);
    if (at >= 0 && at < list.length - 1) {
      list[at + 1].focus();
      if (list[at + 1].select) list[at + 1].select();
    } else {
      submit();
    }
  });
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", update);

  update();
  // Where the clerk goes on: the first field to fix; else the community
  // (once per batch), else the sheet number of the next sheet.
  var bad = form.querySelector('[aria-invalid="true"]:not(:disabled)');
  var community = document.getElementById("p-community");
  var first = bad || (community && !community.value ? community : document.getElementById("p-sheet"));
  if (first) first.focus();
  Array.prototype.forEach.call(document.querySelectorAll("#error-summary a"), function (a) {
    a.addEventListener("click", function (ev) {
      var target = document.getElementById(a.getAttribute("href").slice(1));
      if (target) { ev.preventDefault(); target.focus(); }
    });
  });
})();
