/* Kizuki: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (form) {
    form.addEventListener("submit", function () {
      /* The search is sent in the address (shareable); a text too long for an address is
       * posted instead (the server answers both the same way). */
      var maxUrl = parseInt(form.dataset.maxUrl || "0", 10);
      if (maxUrl && window.URLSearchParams && window.FormData) {
        var query = new URLSearchParams(new FormData(form)).toString();
        if (query.length + 2 > maxUrl) form.method = "post";
      }
      var button = form.querySelector("button[type=submit]");
      if (button && button.dataset.busy) {
        button.textContent = button.dataset.busy;
        button.classList.add("busy");
      }
    });
    var area = form.querySelector("textarea");
    if (area) {
      /* Ctrl/Cmd+Enter submits, as in most paste-and-search tools. */
      area.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        }
      });
    }
  }
  /* On a narrow screen the results are below a tall form: bring them into view. */
  var top = document.getElementById("results-top");
  if (top && window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
    top.scrollIntoView({block: "start"});
  }
})();

/* Change review: a print button (the page's print style leaves the checklist and its evidence). */
(function () {
  var button = document.querySelector("[data-print]");
  if (button) {
    button.addEventListener("click", function (evt) { evt.preventDefault(); window.print(); });
  }
})();

/* Analysts' judgements: 「類似」/「類似ではない」 on each result, sent to POST /feedback with
 * the API key (or none when the server accepts anonymous judgements). The key and the
 * analyst's name are kept in this browser's localStorage. */
(function () {
  var results = document.getElementById("results");
  var settings = document.getElementById("feedback-settings");
  if (!results || !settings || !window.fetch) return;
  var keyInput = document.getElementById("feedback-key");
  var nameInput = document.getElementById("feedback-analyst");
  function remember(input, name) {
    if (!input) return;
    try { input.value = window.localStorage.getItem(name) || ""; } catch (e) { /* storage off */ }
    input.addEventListener("input", function () {
      try { window.localStorage.setItem(name, input.value.trim()); } catch (e) { /* storage off */ }
    });
  }
  remember(keyInput, "kizuki-api-key");
  remember(nameInput, "kizuki-analyst");
  var anonymous = settings.dataset.anonymous === "true";
  var msg = results.dataset;

  function show(status, text, kind) {
    status.textContent = text;
    status.className = "judge-status" + (kind ? " " + kind : "");
  }

  function judgedText(j) {
    var parts = [msg["grade-" + j.grade] || String(j.grade)];
    if (j.analyst) parts.push(j.analyst);
    parts.push(String(j.created_at || "").slice(0, 10));
    if (j.note) parts.push(j.note);
    return parts.join(" · ");
  }

  /* The page is served without the key, so it says only *that* a case was judged. With
   * the key set, who judged, for which text and the notes are fetched with it. */
  function loadDetails() {
    var key = keyInput ? keyInput.value.trim() : "";
    if (!key || !msg.query) { results.dataset.judgementsLoaded = "redacted"; return; }
    var headers = {"Content-Type": "application/json", "X-API-Key": key};
    var body = {text: msg.query, k: parseInt(msg.k, 10) || 10};
    if (msg.sector) body.sectors = [msg.sector];
    if (msg.theme) body.themes = [msg.theme];
    var search = fetch("/search", {method: "POST", headers: headers, body: JSON.stringify(body)})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (res) {
        if (!res) return;
        res.results.forEach(function (hit) {
          var article = results.querySelector('article[data-case-id="' + CSS.escape(hit.case_id) + '"]');
          if (!article || !hit.feedback.length) return;
          var items = article.querySelectorAll(".feedback-reason");
          hit.feedback.forEach(function (f, i) {
            if (!items[i] || !f.query) return;
            var q = f.query.length > 40 ? f.query.slice(0, 40) + "…" : f.query;
            var template = f.grade >= 1 ? msg.msgSimilarFor : msg.msgNotSimilarFor;
            items[i].textContent = template.replace("{q}", q).replace("{d}", f.judged_on || "");
            items[i].title = f.query + (f.analyst ? " (" + f.analyst + ")" : "");
          });
        });
      });
    var mine = fetch("/feedback?query=" + encodeURIComponent(msg.query), {headers: {"X-API-Key": key}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (page) {
        if (!page) return;
        var byCase = {};
        page.items.forEach(function (j) { (byCase[j.case_id] = byCase[j.case_id] || []).push(j); });
        results.querySelectorAll("article[data-case-id]").forEach(function (article) {
          var list = article.querySelector(".judged");
          if (!list) return;
          list.textContent = "";
          (byCase[article.dataset.caseId] || []).forEach(function (j) {
            var li = document.createElement("li");
            li.className = "judged-item";
            li.dataset.grade = String(j.grade);
            li.textContent = judgedText(j);
            list.appendChild(li);
          });
        });
      });
    Promise.all([search, mine]).catch(function () { /* the redacted view stays */ })
      .then(function () { results.dataset.judgementsLoaded = "full"; });
  }
  loadDetails();

  results.addEventListener("click", function (evt) {
    var button = evt.target.closest ? evt.target.closest(".judge-btn") : null;
    if (!button) return;
    var box = button.closest(".judge");
    var status = box.querySelector(".judge-status");
    var key = keyInput ? keyInput.value.trim() : "";
    if (!key && !anonymous) {
      settings.open = true;
      show(status, msg.msgNeedKey, "error");
      return;
    }
    var select = box.querySelector("select");
    var grade = select && select.value !== "" ? parseInt(select.value, 10) : parseInt(button.dataset.grade, 10);
    var noteInput = box.querySelector(".judge-note");
    var note = noteInput ? noteInput.value.trim() : "";
    var headers = {"Content-Type": "application/json"};
    if (key) headers["X-API-Key"] = key;
    var name = nameInput ? nameInput.value.trim() : "";
    if (name) headers["X-Kizuki-Analyst"] = encodeURIComponent(name);
    show(status, msg.msgSaving, "");
    fetch("/feedback", {
      method: "POST",
      headers: headers,
      body: JSON.stringify({query: msg.query, case_id: box.closest("article").dataset.caseId, grade: grade, note: note})
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (res) {
      if (!res.ok) {
        show(status, msg.msgFailed + ": " + ((res.body && res.body.error && res.body.error.message) || ""), "error");
        return;
      }
      show(status, msg.msgSaved, "ok");
      box.querySelectorAll(".judge-btn").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      var item = document.createElement("li");
      item.className = "judged-item";
      item.dataset.grade = String(res.body.grade);
      item.textContent = judgedText(res.body);
      box.querySelector(".judged").appendChild(item);
    }).catch(function () {
      show(status, msg.msgFailed, "error");
    });
  });
})();
