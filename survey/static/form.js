// Progressive enhancement for the answer form (the form works without it):
// keeps answers in localStorage until the server confirms, restores them on
// reload with the original ticket (so a retry is recognised as the same
// submission), shows follow-up questions only when they apply, and ends the
// questionnaire early for people outside the surveyed population.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");
  if (!form || !window.fetch) return;
  var key = form.dataset.storeKey, store = null, preview = form.dataset.preview === "1";
  // The console's preview keeps nothing and sends nothing.
  try { if (preview) throw new Error("preview"); store = window.localStorage; store.setItem(key + ":probe", "1"); store.removeItem(key + ":probe"); } catch (e) { store = null; }
  var blocks = Array.prototype.slice.call(form.querySelectorAll(".question"));
  var submitBtn = document.getElementById("submit");
  Array.prototype.forEach.call(document.querySelectorAll(".noscript-hint"), function (el) { el.hidden = true; });

  function values(qid) {
    var out = [];
    Array.prototype.forEach.call(form.elements["q_" + qid] ? form.querySelectorAll('[name="q_' + qid + '"]') : [], function (el) {
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value !== "") out.push(el.value);
    });
    return out;
  }
  function snapshot(pending) {
    var answers = {};
    blocks.forEach(function (b) { answers[b.dataset.qid] = values(b.dataset.qid); });
    return { ticket: document.getElementById("ticket").value, answers: answers, pending: !!pending, saved: Date.now() };
  }
  function save(pending) { if (store) store.setItem(key, JSON.stringify(snapshot(pending))); }
  function load() { try { return store ? JSON.parse(store.getItem(key) || "null") : null; } catch (e) { return null; } }

  function restore(state) {
    document.getElementById("ticket").value = state.ticket;
    blocks.forEach(function (b) {
      var vals = state.answers[b.dataset.qid] || [];
      Array.prototype.forEach.call(form.querySelectorAll('[name="q_' + b.dataset.qid + '"]'), function (el) {
        if (el.type === "radio" || el.type === "checkbox") el.checked = vals.indexOf(el.value) >= 0;
        else el.value = vals.length ? vals[0] : "";
      });
    });
  }

  function update() {
    var ended = false;
    blocks.forEach(function (b) {
      var show = !ended;
      if (show && b.dataset.showIf) {
        var codes = b.dataset.showCodes.split(" "), got = values(b.dataset.showIf);
        show = got.some(function (v) { return codes.indexOf(v) >= 0; }) && !document.getElementById("question-" + b.dataset.showIf).hidden;
      }
      b.hidden = !show;
      Array.prototype.forEach.call(b.querySelectorAll("input,select,textarea"), function (el) { el.disabled = !show; });
      if (show && b.dataset.eligible) {
        var v = values(b.dataset.qid), out = v.length > 0 && b.dataset.eligible.split(" ").indexOf(v[0]) < 0;
        b.querySelector(".screened").hidden = !out;
        if (out) ended = true;
      }
    });
  }

  var state = load();
  var serverRendered = !!document.getElementById("error-summary");
  if (state && !serverRendered) {
    restore(state);
    document.getElementById(state.pending ? "unsent" : "restored").hidden = false;
  }
  update();
  form.addEventListener("change", function () { update(); save(false); });
  form.addEventListener("input", function () { save(false); });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    update();
    if (preview) { document.getElementById("preview-sent").hidden = false; return; }
    save(true);
    submitBtn.disabled = true;
    fetch(form.action || location.href, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (resp) {
        if (resp.ok && resp.redirected) {
          if (store) store.removeItem(key);
          location.replace(resp.url);
        } else if (resp.status >= 500) {
          throw new Error("server " + resp.status);
        } else {
          // Validation errors, a closed round, an expired page: let the
          // server's page speak; the answers stay stored until a thank-you, and
          // the same ticket makes any resend harmless.
          HTMLFormElement.prototype.submit.call(form);
        }
      })
      .catch(function () {
        submitBtn.disabled = false;
        var unsent = document.getElementById("unsent");
        unsent.hidden = false;
        unsent.scrollIntoView({ behavior: "smooth" });
      });
  });
})();
