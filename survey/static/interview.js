// The interviewer's phone: fill questionnaires with or without a network.
//
// Each saved questionnaire goes into IndexedDB first ("waiting") with a key
// made here (crypto.randomUUID), then is sent in batches to the sync
// endpoint, which answers per item: stored, duplicate (stored before) or
// invalid (with reasons). The key makes every resend harmless, so the
// queue is sent again until the server has answered for each item: at
// once, when the network comes back, on every opening of the page, and
// after failures with exponential backoff and jitter. Nothing is deleted
// from the phone when it is confirmed; the list shows when it was.
(function () {
  "use strict";
  var root = document.getElementById("interview");
  if (!root || !window.indexedDB || !window.fetch || !window.MinyiQuestions) return;
  var Q = window.MinyiQuestions;
  var interviewer = parseInt(root.dataset.interviewer, 10);
  var words = JSON.parse(root.dataset.words);
  var state = JSON.parse(root.dataset.state);
  var form = document.getElementById("interview-form");
  var blocks = Array.prototype.slice.call(form.querySelectorAll(".question"));
  var practiceBox = document.getElementById("practice");
  var BATCH = 20, RETRY_FIRST_S = 2, RETRY_CAP_S = 300, REQUEST_TIMEOUT_MS = 30000;

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }
  function beijing(ms) {
    return new Date(ms).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false,
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // --- IndexedDB: "items" (the queue and its history), "kv" (draft, last state)
  var dbPromise = new Promise(function (resolve, reject) {
    var request = indexedDB.open("minyi-interviews", 1);
    request.onupgradeneeded = function () {
      var db = request.result;
      db.createObjectStore("items", { keyPath: "key" }).createIndex("interviewer", "interviewer");
      db.createObjectStore("kv");
    };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });
  var draftKey = "draft:" + interviewer, stateKey = "state:" + interviewer;
  function store(name, mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode), result;
        result = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function allItems() {
    return store("items", "readonly", function (s) { return s.index("interviewer").getAll(interviewer); });
  }
  function putItems(items) {
    return store("items", "readwrite", function (s) { items.forEach(function (item) { s.put(item); }); });
  }
  // The questionnaire and the end of its draft in one transaction: a phone
  // switched off in between keeps either the draft or the item, never both.
  function saveItemAndClearDraft(item) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(["items", "kv"], "readwrite");
        tx.objectStore("items").put(item);
        tx.objectStore("kv").put(null, draftKey);
        tx.oncomplete = function () { resolve(); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function getItem(key) { return store("items", "readonly", function (s) { return s.get(key); }); }
  function kvGet(key) { return store("kv", "readonly", function (s) { return s.get(key); }); }
  function kvSet(key, value) { return store("kv", "readwrite", function (s) { s.put(value, key); }); }

  // --- the form ----------------------------------------------------------------
  var startedAt = null, editing = null;
  // Control characters pasted into a text answer are dropped here: the
  // server refuses a request carrying them, and a queue must never stick.
  var CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;
  function answers() {
    var out = {};
    blocks.forEach(function (b) {
      if (!b.hidden) out[b.dataset.qid] = Q.values(form, b.dataset.qid).map(function (v) {
        v = v.replace(CONTROL, "");
        return v.toWellFormed ? v.toWellFormed() : v;  // no lone surrogates either
      });
    });
    return out;
  }
  function update() { return Q.update(form, blocks); }
  // Decided at the moment of saving, by the phone's clock: a page opened
  // before the round did must not keep saving interviews as practice.
  function roundState() {
    var now = Date.now();
    return now < state.round.opens_at ? "not_open" : now >= state.round.closes_at ? "closed" : "open";
  }
  function roundOpen() { return roundState() === "open"; }
  function practice() { return practiceBox.checked || !roundOpen(); }
  function showRoundNotice() {
    var notice = document.getElementById("round-notice");
    notice.hidden = roundOpen();
    if (!roundOpen()) notice.textContent = roundState() === "closed" ? words.closed : words.not_open;
  }
  function clearErrors() {
    blocks.forEach(function (b) {
      b.classList.remove("has-error");
      var p = b.querySelector(".error.js");
      if (p) p.remove();
    });
    document.getElementById("form-problems").hidden = true;
  }
  function markError(block, message) {
    block.classList.add("has-error");
    var p = document.createElement("p");
    p.className = "error js";
    p.setAttribute("role", "alert");
    p.textContent = message;
    block.appendChild(p);
  }
  function showErrors(errors, problems) {
    clearErrors();
    var first = null;
    blocks.forEach(function (b) {
      if (errors[b.dataset.qid]) { markError(b, errors[b.dataset.qid]); first = first || b; }
    });
    var box = document.getElementById("form-problems");
    box.textContent = (problems && problems.length ? problems.join(" ") + " " : "") + words.check;
    box.hidden = false;
    (first || box).scrollIntoView({ block: "center" });
    var field = first && first.querySelector("input,select,textarea");
    if (field) field.focus();
  }
  function missingAnswers() {
    var errors = {};
    blocks.forEach(function (b) {
      if (!b.hidden && b.dataset.required && Q.values(form, b.dataset.qid).length === 0) errors[b.dataset.qid] = words.required;
    });
    return errors;
  }
  function communityValue() {
    var select = form.querySelector("select[name^='q_']");
    return select ? select.value : "";
  }
  function resetForm(keepCommunity) {
    var community = communityValue();
    form.reset();
    var select = form.querySelector("select[name^='q_']");
    if (select && keepCommunity) select.value = community;
    practiceBox.checked = practiceBox.disabled || practiceBox.checked;
    startedAt = null;
    editing = null;
    document.getElementById("editing-notice").hidden = true;
    clearErrors();
    update();
  }
  function saveDraft() {
    kvSet(draftKey, { answers: answers(), startedAt: startedAt, editing: editing && editing.key,
                      practice: practiceBox.checked, saved: Date.now() });
  }

  form.addEventListener("change", function () { if (startedAt === null) startedAt = Date.now(); update(); saveDraft(); });
  form.addEventListener("input", function () { if (startedAt === null) startedAt = Date.now(); saveDraft(); });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    update();
    var errors = missingAnswers();
    if (Object.keys(errors).length) { showErrors(errors, []); return; }
    var now = Date.now();
    var item = editing || { key: newKey(), interviewer: interviewer };
    item.practice = practice();
    item.answers = answers();
    item.unit = communityValue();
    item.started_at = editing ? editing.started_at : (startedAt || now);
    item.completed_at = editing ? editing.completed_at : now;
    item.state = "waiting";
    item.problems = [];
    item.errors = {};
    item.saved_at = now;
    showRoundNotice();
    saveItemAndClearDraft(item).then(function () {
      var notice = document.getElementById("saved-notice");
      notice.textContent = item.practice ? words.saved_practice : words.saved;
      notice.hidden = false;
      resetForm(true);
    }, function () {
      var notice = document.getElementById("saved-notice");
      notice.textContent = words.not_saved;
      notice.hidden = false;
    }).then(function () {
      window.scrollTo(0, 0);
      render();
      sync();
    });
  });

  function edit(item) {
    resetForm(false);
    editing = item;
    Q.fill(form, blocks, item.answers);
    practiceBox.checked = !!item.practice;
    update();
    var notice = document.getElementById("editing-notice");
    notice.textContent = words.editing;
    notice.hidden = false;
    showErrors(item.errors || {}, item.problems || []);
  }

  // --- the list, the counts and the quota ----------------------------------------
  var items = [];
  function render() {
    return allItems().then(function (found) {
      items = found.sort(function (a, b) { return b.saved_at - a.saved_at; });
      var waiting = items.filter(function (i) { return i.state === "waiting"; }).length;
      document.getElementById("waiting-count").textContent = waiting;
      var list = document.getElementById("items");
      list.textContent = "";
      if (!items.length) {
        var none = document.createElement("li");
        none.textContent = words.none_yet;
        list.appendChild(none);
      }
      items.slice(0, 100).forEach(function (item) {
        var li = document.createElement("li");
        li.className = "item " + item.state;
        li.dataset.key = item.key;
        var head = document.createElement("span");
        head.textContent = beijing(item.completed_at) + " · " + unitName(item.unit) + (item.practice ? " · " + words.practice : "");
        var status = document.createElement("span");
        status.className = "item-state";
        if (item.state === "waiting") status.textContent = words.waiting;
        else if (item.state === "stored") status.textContent = say(words.confirmed, { time: beijing(item.confirmed_at) });
        else if (item.state === "duplicate") status.textContent = say(words.duplicate, { time: beijing(item.confirmed_at) });
        else status.textContent = words.invalid + "：" + (item.problems || []).concat(
          Object.keys(item.errors || {}).map(function (q) { return item.errors[q]; })).join("；");
        li.appendChild(head);
        li.appendChild(document.createElement("br"));
        li.appendChild(status);
        if (item.state === "invalid") {
          var fix = document.createElement("button");
          fix.type = "button";
          fix.className = "link";
          fix.textContent = words.edit;
          fix.addEventListener("click", function () { edit(item); });
          li.appendChild(fix);
        }
        list.appendChild(li);
      });
      renderQuota();
    });
  }
  function unitName(code) {
    var unit = state.units.filter(function (u) { return u.code === code; })[0];
    return unit ? unit.name : (code || "—");
  }
  function renderQuota() {
    var body = document.getElementById("quota-body");
    body.textContent = "";
    var waitingHere = {};
    items.forEach(function (i) { if (i.state === "waiting" && !i.practice) waitingHere[i.unit] = (waitingHere[i.unit] || 0) + 1; });
    state.units.forEach(function (unit) {
      var box = document.createElement("div");
      box.className = "quota-unit";
      box.dataset.unit = unit.code;
      var title = document.createElement("h3");
      title.textContent = unit.name;
      var line = document.createElement("p");
      line.className = "quota-line";
      line.textContent = (unit.quota === null ? say(words.done_only, { done: unit.done }) + "（" + words.quota_none + "）"
        : say(words.done_of, { done: unit.done, target: unit.quota, missing: unit.missing }))
        + "；" + say(words.mine, { n: unit.mine })
        + (waitingHere[unit.code] ? "；" + say(words.pending_here, { n: waitingHere[unit.code] }) : "");
      box.appendChild(title);
      box.appendChild(line);
      if (unit.cells.length) {
        var table = document.createElement("table");
        table.className = "quota-cells";
        var head = table.insertRow();
        [words.cell, words.target, words.done, words.missing].forEach(function (w) {
          var th = document.createElement("th"); th.textContent = w; head.appendChild(th);
        });
        unit.cells.forEach(function (cell) {
          var row = table.insertRow();
          if (cell.missing > 0) row.className = "short";
          [cell.gender + " " + cell.age, cell.target, cell.done, cell.missing].forEach(function (v) {
            row.insertCell().textContent = v;
          });
        });
        box.appendChild(table);
      }
      body.appendChild(box);
    });
    document.getElementById("quota-time").textContent = say(words.updated, { time: beijing(state.server_time) });
  }
  function takeState(fresh) {
    if (fresh && fresh.server_time >= (state.server_time || 0)) {
      state = fresh;
      kvSet(stateKey, fresh);
      showRoundNotice();
    }
  }

  // --- sending --------------------------------------------------------------------
  var sending = false, failures = 0, retryTimer = null, tickTimer = null, retryAt = 0, stopped = false;
  var syncState = document.getElementById("sync-state");
  function netState() {
    document.getElementById("net-state").textContent = navigator.onLine === false ? words.offline : words.online;
  }
  function waitAndRetry() {
    failures += 1;
    var wait = Math.min(RETRY_CAP_S, RETRY_FIRST_S * Math.pow(2, failures - 1));
    wait = wait * (0.5 + Math.random() * 0.5);
    retryAt = Date.now() + wait * 1000;
    clearTimeout(retryTimer); clearInterval(tickTimer);
    var tick = function () {
      syncState.textContent = say(words.retry, { seconds: Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) });
    };
    tick();
    tickTimer = setInterval(tick, 1000);
    retryTimer = setTimeout(sync, wait * 1000);
  }
  function post(batch) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var body = JSON.stringify({ phone_now: Date.now(), items: batch.map(function (i) {
      return { key: i.key, practice: i.practice, unit: i.unit, started_at: i.started_at,
               completed_at: i.completed_at, answers: i.answers };
    }) });
    return fetch(root.dataset.syncUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, signal: controller ? controller.signal : undefined
    }).then(function (resp) { clearTimeout(timer); return resp; }, function (e) { clearTimeout(timer); throw e; });
  }
  // A batch the server refuses as a whole (400, 413) is sent again one
  // questionnaire at a time, and a single refused one is marked for
  // correcting with the server's words: nothing can hold the queue for ever.
  var batchSize = BATCH;
  function refuseOne(item, resp) {
    return resp.json().catch(function () { return {}; }).then(function (body) {
      item.state = "invalid";
      item.problems = [body.message || body.error || words.invalid];
      item.errors = {};
      return putItems([item]);
    });
  }
  function sync() {
    if (sending || stopped) return Promise.resolve();
    sending = true;
    clearTimeout(retryTimer); clearInterval(tickTimer);
    return allItems().then(function (found) {
      var waiting = found.filter(function (i) { return i.state === "waiting"; });
      if (!waiting.length) {
        sending = false;
        syncState.textContent = words.all_sent; failures = 0; batchSize = BATCH;
        return refreshState();
      }
      syncState.textContent = words.sending;
      var batch = waiting.slice(0, batchSize);
      return post(batch).then(function (resp) {
        if (resp.status === 401) {
          stopped = true;
          syncState.textContent = words.signed_out;
          return null;
        }
        if (resp.status === 400 || resp.status === 413) {
          if (batch.length > 1) { batchSize = 1; return "again"; }
          return refuseOne(batch[0], resp).then(function () { return "again"; });
        }
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.json();
      }).then(function (answer) {
        sending = false;
        if (answer === "again") return render().then(sync);
        if (!answer) return;
        var byKey = {};
        batch.forEach(function (i) { byKey[i.key] = i; });
        var changed = [];
        answer.results.forEach(function (r) {
          var item = byKey[r.key];
          if (!item) return;
          item.state = r.status === "invalid" ? "invalid" : r.status;
          item.confirmed_at = r.confirmed_at || Date.now();
          item.problems = r.problems || [];
          item.errors = r.errors || {};
          changed.push(item);
        });
        failures = 0;
        takeState(answer.state);
        return putItems(changed).then(render).then(function () {
          if (waiting.length > batch.length) return sync();
          syncState.textContent = words.all_sent;
        });
      }).catch(function () {
        sending = false;
        waitAndRetry();
      });
    }, function () { sending = false; });
  }
  function refreshState() {
    if (navigator.onLine === false) return Promise.resolve();
    return fetch(root.dataset.stateUrl, { credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (fresh) { takeState(fresh); renderQuota(); })
      .catch(function () { /* offline: the kept quota stays */ });
  }

  document.getElementById("sync-now").addEventListener("click", function () { failures = 0; sync(); });
  window.addEventListener("online", function () { netState(); failures = 0; sync(); });
  window.addEventListener("offline", netState);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) sync(); });

  // --- start ----------------------------------------------------------------------
  if (navigator.serviceWorker) {
    navigator.serviceWorker.register(root.dataset.swUrl, { scope: root.dataset.scope }).catch(function () {});
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
  netState();
  kvGet(stateKey).then(function (kept) { takeState(kept); }).then(function () {
    showRoundNotice();
    return kvGet(draftKey);
  }).then(function (draft) {
    if (draft && draft.answers) {
      Q.fill(form, blocks, draft.answers);
      startedAt = draft.startedAt;
      if (!practiceBox.disabled) practiceBox.checked = !!draft.practice;
    }
    update();
    // A correction interrupted by a reload goes on under the same key.
    return draft && draft.editing ? getItem(draft.editing).then(function (item) {
      if (item && item.state === "invalid") {
        editing = item;
        var notice = document.getElementById("editing-notice");
        notice.textContent = words.editing;
        notice.hidden = false;
      }
    }) : null;
  }).then(render).then(function () {
    document.getElementById("save").disabled = false;
    return sync();
  });
})();
