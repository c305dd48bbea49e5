// Small behaviours of the thank-you and error pages, kept out of the HTML so
// the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";
  var each = function (selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); };

  // The server has the answers now: forget the copy kept on the phone.
  each("[data-forget-answers]", function (el) {
    try { window.localStorage.removeItem(el.getAttribute("data-forget-answers")); } catch (e) {}
  });

  // "Go back" links: offered only when there is a page to go back to.
  each("[data-history-back]", function (el) {
    if (window.history.length < 2) return;
    el.hidden = false;
    el.addEventListener("click", function (ev) { ev.preventDefault(); window.history.back(); });
  });
})();
