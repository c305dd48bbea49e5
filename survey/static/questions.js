// What the resident's form (form.js), the interviewer's phone (interview.js)
// and the paper entry share about questions on a page: the values given to
// one, and which questions apply given the answers so far (follow-up
// questions, and the end of the questionnaire for people screened out).
(function () {
  "use strict";
  function values(form, qid) {
    var out = [];
    Array.prototype.forEach.call(form.querySelectorAll('[name="q_' + qid + '"]'), function (el) {
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value !== "") out.push(el.value);
    });
    return out;
  }
  // Shows the questions that apply, disables the others; true when a
  // screening answer ended the questionnaire.
  function update(form, blocks) {
    var ended = false;
    blocks.forEach(function (b) {
      var show = !ended;
      if (show && b.dataset.showIf) {
        var codes = b.dataset.showCodes.split(" "), got = values(form, b.dataset.showIf);
        var parent = form.querySelector("#question-" + b.dataset.showIf);
        show = got.some(function (v) { return codes.indexOf(v) >= 0; }) && !(parent && parent.hidden);
      }
      b.hidden = !show;
      Array.prototype.forEach.call(b.querySelectorAll("input,select,textarea"), function (el) { el.disabled = !show; });
      if (show && b.dataset.eligible) {
        var v = values(form, b.dataset.qid), out = v.length > 0 && b.dataset.eligible.split(" ").indexOf(v[0]) < 0;
        b.querySelector(".screened").hidden = !out;
        if (out) ended = true;
      }
    });
    return ended;
  }
  // Puts saved answers (question id -> list of values) back into the fields.
  function fill(form, blocks, answers) {
    blocks.forEach(function (b) {
      var vals = answers[b.dataset.qid] || [];
      Array.prototype.forEach.call(form.querySelectorAll('[name="q_' + b.dataset.qid + '"]'), function (el) {
        if (el.type === "radio" || el.type === "checkbox") el.checked = vals.indexOf(el.value) >= 0;
        else el.value = vals.length ? vals[0] : "";
      });
    });
  }
  window.MinyiQuestions = { values: values, update: update, fill: fill };
})();
