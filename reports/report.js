(function () {
  "use strict";
  // Renders the accounts of report.html from the JSON in #report-data (see src/report/html/data.rs
  // for its shape). Tenant text only ever reaches the page through textContent.
  var began = performance.now();
  var $ = function (id) { return document.getElementById(id); };
  var data = JSON.parse($("report-data").textContent);
  var rules = data.rules, exceptions = data.exceptions;
  var ruleAt = {};
  rules.forEach(function (r, i) { ruleAt[r.id] = i; });
  var RANK = { blocked: 0, ready: 1, pending: 2, excluded: 3 };
  var SEVERITY_BIT = { blocker: 1, warning: 2, info: 4 };
  var FLAG = { "new": 1, unchanged: 2, accepted: 4, expired: 8, failing: 16 };
  var FLAG_LABEL = [[1, "new since the baseline"], [2, "unchanged since the baseline"], [4, "accepted"], [8, "exception expired"], [16, "fails the review"]];

  function sevBit(ruleIndex) { return SEVERITY_BIT[rules[ruleIndex].severity] || 0; }

  // [id, upn, displayName, mail, verdict, reason, blockers, warnings, findings]
  var accounts = data.accounts.map(function (a, i) {
    var hit = a[6].concat(a[7]), flags = 0, sev = 0;
    a[8].forEach(function (f) { if (hit.indexOf(f[0]) < 0) hit.push(f[0]); flags |= f[3]; });
    hit.forEach(function (r) { sev |= sevBit(r); });
    return {
      i: i, id: a[0], upn: a[1] || "", name: a[2] || "", mail: a[3] || "", verdict: a[4],
      reason: a[5], blockers: a[6], warnings: a[7], findings: a[8], rules: hit, sev: sev, flags: flags,
      text: [a[1], a[2], a[3], a[0]].join("\n").toLowerCase()
    };
  });

  var DEFAULTS = { q: "", verdict: "", severity: "", rule: "", state: "", sort: "", dir: "asc", page: 1, size: 100, account: "", doc: "" };
  var state = Object.assign({}, DEFAULTS);
  var filtered = accounts, sortedKey = "", sorted = accounts;

  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var SORTS = {
    verdict: function (a) { return RANK[a.verdict]; },
    upn: function (a) { return a.upn; },
    name: function (a) { return a.name; },
    mail: function (a) { return a.mail; },
    blockers: function (a) { return a.blockers.length; },
    warnings: function (a) { return a.warnings.length; },
    findings: function (a) { return a.findings.length; }
  };

  function order() {
    var key = state.sort + "/" + state.dir;
    if (key === sortedKey) return sorted;
    sortedKey = key;
    if (!SORTS[state.sort]) { sorted = accounts; return sorted; }
    var get = SORTS[state.sort], dir = state.dir === "desc" ? -1 : 1;
    var keyed = accounts.map(function (a) { return { a: a, k: get(a) }; });
    keyed.sort(function (x, y) {
      var r;
      if (typeof x.k === "number") r = x.k - y.k;
      else if (!x.k !== !y.k) return x.k ? -1 : 1; // empty cells last, either way
      else r = collator.compare(x.k, y.k);
      return r ? r * dir : x.a.i - y.a.i;
    });
    sorted = keyed.map(function (x) { return x.a; });
    return sorted;
  }

  function filter() {
    var q = state.q.trim().toLowerCase(), v = state.verdict, s = SEVERITY_BIT[state.severity] || 0;
    var r = state.rule in ruleAt ? ruleAt[state.rule] : -1, f = FLAG[state.state] || 0;
    filtered = order().filter(function (a) {
      return (!v || a.verdict === v) && (!s || a.sev & s) && (r < 0 || a.rules.indexOf(r) >= 0) &&
        (!f || a.flags & f) && (!q || a.text.indexOf(q) >= 0);
    });
  }

  // ---- elements -------------------------------------------------------------------------
  function make(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function badge(cls, text) { return make("span", { "class": "b " + cls }, text); }
  function ruleButton(ruleIndex) {
    return make("button", { type: "button", "class": "lk", "data-rule": rules[ruleIndex].id }, rules[ruleIndex].id);
  }
  function ruleList(indices) {
    var frag = document.createDocumentFragment();
    indices.forEach(function (r) { frag.appendChild(ruleButton(r)); });
    return frag;
  }
  var number = new Intl.NumberFormat("en-US");

  // ---- the table ------------------------------------------------------------------------
  var tbody = $("accounts").tBodies[0];
  function row(a) {
    var tr = make("tr", { "data-id": a.id });
    var v = make("td");
    v.appendChild(badge("v-" + a.verdict, a.verdict));
    if (a.reason) v.appendChild(make("small", null, a.reason));
    tr.appendChild(v);
    var upn = make("td");
    upn.appendChild(make("button", { type: "button", "class": "lk", "data-account": a.id, title: "Every finding of this account" }, a.upn || "(no UPN) " + a.id));
    tr.appendChild(upn);
    tr.appendChild(make("td", null, a.name));
    tr.appendChild(make("td", null, a.mail));
    var b = make("td"); b.appendChild(ruleList(a.blockers)); tr.appendChild(b);
    var w = make("td"); w.appendChild(ruleList(a.warnings)); tr.appendChild(w);
    tr.appendChild(make("td", { "class": "num" }, String(a.findings.length)));
    return tr;
  }

  function pages() { return Math.max(1, Math.ceil(filtered.length / state.size)); }

  function draw() {
    filter();
    state.page = Math.min(Math.max(1, state.page), pages());
    var start = (state.page - 1) * state.size, slice = filtered.slice(start, start + state.size);
    var frag = document.createDocumentFragment();
    slice.forEach(function (a) { frag.appendChild(row(a)); });
    tbody.replaceChildren(frag);
    var all = accounts.length, n = filtered.length;
    $("count").textContent = (n === all ? number.format(all) + " accounts" : number.format(n) + " of " + number.format(all) + " accounts") +
      (n ? ", showing " + number.format(start + 1) + "–" + number.format(start + slice.length) : "");
    $("p-at").textContent = "Page " + number.format(state.page) + " of " + number.format(pages());
    $("p-first").disabled = $("p-prev").disabled = state.page <= 1;
    $("p-next").disabled = $("p-last").disabled = state.page >= pages();
    $("export").disabled = $("copy").disabled = n === 0;
    var ths = $("accounts").tHead.rows[0].cells;
    for (var h = 0; h < ths.length; h++) {
      if (ths[h].getAttribute("data-sort") === state.sort) ths[h].setAttribute("aria-sort", state.dir === "desc" ? "descending" : "ascending");
      else ths[h].removeAttribute("aria-sort");
    }
    writeHash();
  }

  // ---- state in the URL fragment --------------------------------------------------------
  function writeHash() {
    var p = new URLSearchParams();
    Object.keys(DEFAULTS).forEach(function (k) { if (String(state[k]) !== String(DEFAULTS[k])) p.set(k, state[k]); });
    var hash = p.toString(), url = location.pathname + location.search + (hash ? "#" + hash : "");
    if (location.hash.slice(1) === hash) return;
    try { history.replaceState(null, "", url); } catch (e) { /* some file:// viewers refuse; the view still works */ }
  }
  function readHash() {
    var h = location.hash.slice(1);
    if (h.indexOf("=") < 0) return false; // a plain anchor such as #rule-mail-missing
    var p = new URLSearchParams(h);
    state = Object.assign({}, DEFAULTS);
    Object.keys(DEFAULTS).forEach(function (k) { if (p.has(k)) state[k] = p.get(k); });
    state.page = parseInt(state.page, 10) || 1;
    state.size = [50, 100, 250, 1000].indexOf(parseInt(state.size, 10)) >= 0 ? parseInt(state.size, 10) : 100;
    if (state.dir !== "desc") state.dir = "asc";
    return true;
  }
  function toControls() {
    $("f-q").value = state.q;
    ["verdict", "severity", "rule", "state"].forEach(function (k) {
      var sel = $("f-" + k);
      sel.value = state[k];
      if (sel.value !== state[k]) { state[k] = ""; sel.value = ""; } // unknown value in a link
    });
    $("p-size").value = String(state.size);
  }

  // ---- drill-down -----------------------------------------------------------------------
  function keyValues(pairs, cls) {
    var dl = make("dl", cls ? { "class": cls } : null);
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "") return;
      dl.appendChild(make("dt", null, p[0]));
      var dd = make("dd");
      if (p[1] instanceof Node) dd.appendChild(p[1]); else dd.textContent = String(p[1]);
      dl.appendChild(dd);
    });
    return dl;
  }
  function findingCard(f, tenantLevel) {
    var r = rules[f[0]], card = make("article", { "class": "finding " + r.severity });
    var head = make("div", { "class": "tags" });
    head.appendChild(badge("s-" + r.severity, r.severity));
    head.appendChild(ruleButton(f[0]));
    head.appendChild(make("strong", null, r.title));
    if (tenantLevel) head.appendChild(badge("", "tenant-level"));
    FLAG_LABEL.forEach(function (l) { if (f[3] & l[0]) head.appendChild(badge(l[0] & 24 ? "s-blocker" : "", l[1])); });
    card.appendChild(head);
    card.appendChild(make("p", null, f[1]));
    var pairs = (r.evidence || []).map(function (k, n) {
      var v = f[2][n];
      return [k, v === null || v === undefined ? "null" : v === "" ? "(empty)" : String(v)];
    });
    if (pairs.length) card.appendChild(keyValues(pairs));
    var x = f[4] === null || f[4] === undefined ? null : exceptions[f[4]];
    if (x) card.appendChild(make("p", { "class": "muted" }, "Exception: " + x.reason + (x.owner ? " (owner " + x.owner + ")" : "") + (x.expires ? ", until " + x.expires : "") + (x.expired ? " (expired)" : "")));
    if (r.docs && r.docs.remediation) {
      card.appendChild(make("p", { "class": "rem" }, "Remediation: " + r.docs.remediation));
    }
    return card;
  }
  function openDialog(d) { if (!d.open) d.showModal(); d.scrollTop = 0; }
  function closeDialogs() { ["account-dialog", "rule-dialog"].forEach(function (id) { if ($(id).open) $(id).close(); }); }

  function showAccount(id) {
    var a = accounts.find(function (x) { return x.id === id; });
    if (!a) { state.account = ""; return; }
    closeDialogs();
    state.account = id; state.doc = "";
    $("account-title").textContent = a.upn || a.id;
    var body = $("account-body"), verdict = make("span");
    verdict.appendChild(badge("v-" + a.verdict, a.verdict));
    if (a.reason) verdict.appendChild(document.createTextNode(" " + a.reason));
    body.replaceChildren(keyValues([["Verdict", verdict], ["Display name", a.name], ["Mail", a.mail], ["Object id", a.id]], "kv"));
    var own = a.findings.map(function (f) { return f[0]; });
    var tenant = data.tenantFindings.filter(function (f) {
      return own.indexOf(f[0]) < 0 && (a.blockers.indexOf(f[0]) >= 0 || a.warnings.indexOf(f[0]) >= 0);
    });
    var total = a.findings.length + tenant.length;
    body.appendChild(make("h3", null, total ? total + (total === 1 ? " finding" : " findings") : "No findings"));
    a.findings.forEach(function (f) { body.appendChild(findingCard(f, false)); });
    tenant.forEach(function (f) { body.appendChild(findingCard(f, true)); });
    openDialog($("account-dialog"));
    writeHash();
  }

  function showRule(id) {
    if (!(id in ruleAt)) { state.doc = ""; return; }
    closeDialogs();
    state.doc = id; state.account = "";
    var ri = ruleAt[id], r = rules[ri], body = $("rule-body");
    $("rule-title").textContent = r.title;
    var tags = make("p", { "class": "tags" });
    tags.appendChild(badge("s-" + r.severity, r.severity));
    tags.appendChild(make("code", null, r.id));
    tags.appendChild(make("span", null, r.target === "tenant" ? "applies to the tenant" : "applies to each account"));
    tags.appendChild(make("span", null, r.status === "evaluated" ? "evaluated" : "not evaluated: " + (r.reason || "")));
    body.replaceChildren(tags);
    var refs = null;
    if (r.docs && r.docs.references && r.docs.references.length) {
      refs = make("ul");
      r.docs.references.forEach(function (ref) {
        var li = make("li");
        if (/^https?:\/\//i.test(ref)) li.appendChild(make("a", { href: ref, rel: "noopener noreferrer" }, ref));
        else li.textContent = ref;
        refs.appendChild(li);
      });
    }
    var docs = r.docs || {};
    body.appendChild(keyValues([["What it checks", docs.what], ["Why it matters", docs.why], ["Remediation", docs.remediation], ["References", refs]], "doc"));
    var hits = accounts.filter(function (a) { return a.rules.indexOf(ri) >= 0; });
    body.appendChild(make("h3", null, number.format(r.count) + (r.count === 1 ? " finding" : " findings") + (r.target === "tenant" ? " (tenant-level)" : "") + ", " + number.format(hits.length) + " of the accounts on this page"));
    if (hits.length) {
      var show = make("button", { type: "button", "class": "btn", "data-filter-rule": id }, "List these " + number.format(hits.length) + " accounts in the table");
      body.appendChild(show);
      var ul = make("ul");
      hits.slice(0, 50).forEach(function (a) {
        var li = make("li");
        li.appendChild(make("button", { type: "button", "class": "lk", "data-account": a.id }, a.upn || a.id));
        li.appendChild(document.createTextNode(" " + a.verdict));
        ul.appendChild(li);
      });
      body.appendChild(ul);
      if (hits.length > 50) body.appendChild(make("p", { "class": "muted" }, "The first 50; the table lists them all."));
    }
    openDialog($("rule-dialog"));
    writeHash();
  }

  function applyDialogs() {
    if (state.account) showAccount(state.account);
    else if (state.doc) showRule(state.doc);
    else closeDialogs();
  }

  // ---- export ---------------------------------------------------------------------------
  function cell(v) {
    v = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(v)) v = "'" + v; // never a formula in a spreadsheet
    return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  function ids(list) { return list.map(function (r) { return rules[r].id; }).join(";"); }
  function exportCsv() {
    var lines = ["id,user_principal_name,display_name,mail,verdict,reason,blockers,warnings"];
    filtered.forEach(function (a) {
      lines.push([a.id, a.upn, a.name, a.mail, a.verdict, a.reason, ids(a.blockers), ids(a.warnings)].map(cell).join(","));
    });
    var blob = new Blob(["\uFEFF" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    var link = make("a", { href: URL.createObjectURL(blob), download: "accounts.csv" });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    say("Exported " + number.format(filtered.length) + " accounts to accounts.csv");
  }
  function copyUpns() {
    var upns = filtered.map(function (a) { return a.upn; }).filter(Boolean), text = upns.join("\r\n");
    var done = function () { say("Copied " + number.format(upns.length) + " UPNs"); };
    var fallback = function () {
      var area = make("textarea", { "class": "sr", "aria-hidden": "true" });
      area.value = text;
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      area.remove();
      if (ok) done(); else say("Copying is blocked here; use the CSV export instead");
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
  }
  function say(text) { $("status").textContent = text; }

  // ---- wiring ---------------------------------------------------------------------------
  var ruleSelect = $("f-rule");
  rules.forEach(function (r) {
    if (r.target === "user" || r.count > 0) ruleSelect.appendChild(make("option", { value: r.id }, r.id + " (" + number.format(r.count) + ")"));
  });
  function changed(k, v) { state[k] = v; state.page = 1; draw(); }
  var timer = 0;
  $("f-q").addEventListener("input", function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { changed("q", e.target.value); }, 150);
  });
  ["verdict", "severity", "rule", "state"].forEach(function (k) {
    $("f-" + k).addEventListener("change", function (e) { changed(k, e.target.value); });
  });
  $("reset").addEventListener("click", function () {
    state = Object.assign({}, DEFAULTS, { size: state.size });
    toControls();
    draw();
  });
  $("p-size").addEventListener("change", function (e) { state.size = parseInt(e.target.value, 10); state.page = 1; draw(); });
  $("p-first").addEventListener("click", function () { state.page = 1; draw(); });
  $("p-prev").addEventListener("click", function () { state.page -= 1; draw(); });
  $("p-next").addEventListener("click", function () { state.page += 1; draw(); });
  $("p-last").addEventListener("click", function () { state.page = pages(); draw(); });
  $("export").addEventListener("click", exportCsv);
  $("copy").addEventListener("click", copyUpns);
  var ths = $("accounts").tHead.rows[0].cells;
  Array.prototype.forEach.call(ths, function (th) {
    var key = th.getAttribute("data-sort"), label = th.textContent;
    var btn = make("button", { type: "button", title: "Sort by " + label.toLowerCase() }, label);
    btn.addEventListener("click", function () {
      state.dir = state.sort === key && state.dir === "asc" ? "desc" : "asc";
      state.sort = key;
      state.page = 1;
      draw();
    });
    th.replaceChildren(btn);
  });
  ["account-dialog", "rule-dialog"].forEach(function (id) {
    $(id).addEventListener("close", function () {
      if ($(id).open) return; // closed and opened again before this event came: still showing
      if (id === "account-dialog") state.account = ""; else state.doc = "";
      writeHash();
    });
  });
  function showAccounts() { closeDialogs(); $("accounts-h").scrollIntoView(); $("accounts-h").focus({ preventScroll: true }); }
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-account],[data-rule],[data-verdict],[data-review],[data-filter-rule],[data-close]");
    if (!t) return;
    e.preventDefault();
    if (t.hasAttribute("data-close")) t.closest("dialog").close();
    else if (t.hasAttribute("data-account")) showAccount(t.getAttribute("data-account"));
    else if (t.hasAttribute("data-rule")) showRule(t.getAttribute("data-rule"));
    else {
      var reset = Object.assign({}, DEFAULTS, { size: state.size, sort: state.sort, dir: state.dir });
      if (t.hasAttribute("data-verdict")) reset.verdict = t.getAttribute("data-verdict");
      else if (t.hasAttribute("data-review")) reset.state = t.getAttribute("data-review");
      else reset.rule = t.getAttribute("data-filter-rule");
      state = reset;
      toControls();
      draw();
      showAccounts();
    }
  });
  window.addEventListener("hashchange", function () {
    if (!readHash()) return;
    toControls();
    draw();
    applyDialogs();
  });

  readHash();
  toControls();
  $("app").hidden = false;
  draw();
  applyDialogs();
  document.documentElement.setAttribute("data-ready", String(accounts.length));
  // For the benchmark (tests/browser/bench.mjs): when the page became usable, and how much of
  // that was this script.
  document.documentElement.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  document.documentElement.setAttribute("data-script-ms", String(Math.round(performance.now() - began)));
})();
