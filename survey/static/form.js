// Progressive enhancement for the answer form (the form works without it):
// keeps answers in localStorage until the server confirms, restores them on
// reload with the original ticket (so a retry is recognised as the same
// submission), sends them again by itself when the network or the server
// fails (backoff with jitter, Retry-After honoured, at once when the phone
// comes back online, and on the next opening of the form), shows follow-up
// questions only when they apply, and ends the questionnaire early for
// people outside the surveyed population.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");
  if (!form || !window.fetch || !window.MinyiQuestions) return;
  var key = form.dataset.storeKey, store = null, preview = form.dataset.preview === "1";
  // The console's preview keeps nothing and sends nothing.
  try { if (preview) throw new Error("preview"); store = window.localStorage; store.setItem(key + ":probe", "1"); store.removeItem(key + ":probe"); } catch (e) { store = null; }
  var blocks = Array.prototype.slice.call(form.querySelectorAll(".question"));
  var submitBtn = document.getElementById("submit");
  Array.prototype.forEach.call(document.querySelectorAll(".noscript-hint"), function (el) { el.hidden = true; });

  function values(qid) { return window.MinyiQuestions.values(form, qid); }
  function snapshot(pending) {
    var answers = {};
    blocks.forEach(function (b) { answers[b.dataset.qid] = values(b.dataset.qid); });
    return { ticket: document.getElementById("ticket").value, answers: answers, pending: !!pending, saved: Date.now() };
  }
  // True when the answers really are in the phone's storage.
  function save(pending) {
    if (!store) return false;
    try { store.setItem(key, JSON.stringify(snapshot(pending))); return true; } catch (e) { return false; }
  }
  function load() { try { return store ? JSON.parse(store.getItem(key) || "null") : null; } catch (e) { return null; } }

  function restore(state) {
    document.getElementById("ticket").value = state.ticket;
    window.MinyiQuestions.fill(form, blocks, state.answers);
  }

  function update() { window.MinyiQuestions.update(form, blocks); }

  // Sending, and sending again. The ticket's submission key makes every
  // resend of the same answers harmless: the server stores them once.
  var RETRY_FIRST_S = 2, RETRY_CAP_S = 60, RETRY_AFTER_MAX_S = 600, REQUEST_TIMEOUT_MS = 30000;
  var unsent = document.getElementById("unsent"), retryStatus = document.getElementById("retry-status");
  var failures = 0, sending = false, retryTimer = null, tickTimer = null, retryAt = 0;

  function showUnsent(kept) {
    document.getElementById("unsent-kept").hidden = !kept;
    document.getElementById("unsent-not-kept").hidden = kept;
    document.getElementById("restored").hidden = true;
    if (unsent.hidden) {
      unsent.hidden = false;
      unsent.scrollIntoView({ behavior: "smooth" });
    }
  }
  function tick() {
    var seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
    retryStatus.textContent = unsent.dataset.waiting.replace("{seconds}", seconds);
  }
  function stopWaiting() {
    clearTimeout(retryTimer); clearInterval(tickTimer);
    retryTimer = tickTimer = null;
  }
  // Seconds the server asked for (Retry-After: seconds or an HTTP date), if any.
  function retryAfter(resp) {
    var value = resp && resp.headers.get("Retry-After"), seconds = NaN;
    if (!value) return 0;
    if (/^\s*\d+\s*$/.test(value)) seconds = parseInt(value, 10);
    else seconds = (Date.parse(value) - Date.now()) / 1000;
    return isFinite(seconds) && seconds > 0 ? Math.min(seconds, RETRY_AFTER_MAX_S) : 0;
  }
  function retryLater(kept, serverSeconds) {
    sending = false;
    submitBtn.disabled = false;
    failures += 1;
    // Exponential backoff with "equal jitter" (2 s, 4 s, 8 s ... at most 60 s,
    // each drawn from its upper half) so phones that failed together do not
    // come back together; never sooner than the server asked.
    var wait = Math.min(RETRY_CAP_S, RETRY_FIRST_S * Math.pow(2, failures - 1));
    wait = wait * (0.5 + Math.random() * 0.5);
    if (serverSeconds) wait = Math.max(wait, serverSeconds + Math.random() * Math.min(serverSeconds, 5));
    showUnsent(kept);
    stopWaiting();
    retryAt = Date.now() + wait * 1000;
    tick();
    tickTimer = setInterval(tick, 1000);
    retryTimer = setTimeout(send, wait * 1000);
  }

  function send() {
    if (sending) return;
    stopWaiting();
    update();
    var kept = save(true);
    sending = true;
    submitBtn.disabled = true;
    if (!unsent.hidden) retryStatus.textContent = unsent.dataset.sending;
    var headers = kept ? { "X-Minyi-Answers-Kept": "1" } : {};
    var controller = window.AbortController ? new AbortController() : null;
    var timeout = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    fetch(form.action || location.href, {
      method: "POST", body: new FormData(form), credentials: "same-origin", headers: headers,
      signal: controller ? controller.signal : undefined
    })
      .then(function (resp) {
        clearTimeout(timeout);
        if (resp.ok && resp.redirected) {
          if (store) store.removeItem(key);
          location.replace(resp.url);
        } else if (resp.status >= 500 || resp.status === 408 || resp.status === 429) {
          retryLater(kept, retryAfter(resp));
        } else {
          // Validation errors, a closed round, an expired page: let the
          // server's page speak; the answers stay stored until a thank-you, and
          // the same ticket makes any resend harmless.
          HTMLFormElement.prototype.submit.call(form);
        }
      })
      .catch(function () {
        clearTimeout(timeout);
        retryLater(kept, 0);
      });
  }

  var state = load();
  var serverRendered = !!document.getElementById("error-summary");
  if (state && !serverRendered) restore(state);
  update();
  // A page the server answered with the answers filled in (errors to fix, a
  // fresh ticket after a long pause) is now what the phone keeps.
  if (serverRendered) save(false);
  form.addEventListener("change", function () { update(); save(false); });
  form.addEventListener("input", function () { save(false); });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    update();
    if (preview) { document.getElementById("preview-sent").hidden = false; return; }
    send();
  });
  // Back online: send now rather than at the end of the countdown.
  window.addEventListener("online", function () { if (retryTimer) send(); });

  if (state && !serverRendered) {
    if (state.pending && !preview) {
      // Answers sent earlier never got a thank-you: send them now.
      showUnsent(true);
      send();
    } else {
      document.getElementById("restored").hidden = false;
    }
  }
})();
