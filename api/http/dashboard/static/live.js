// Live updates without reloads. Uses the change feed's server-sent events (/changes/stream)
// when the server has it, as a prompt to fetch what changed; otherwise (404, or any error
// before the stream opens) polls every few seconds. The user's filters live in the
// session and the page is patched in place, so filters, scroll and typing survive.
(function () {
  "use strict";
  var STREAM = "/changes/stream";
  var POLL_MS = 3000;
  // The change feed's event names (`event:` lines); any of them prompts a refresh.
  var STREAM_TYPES = ["lead.created", "lead.updated", "lead.status_changed", "lead.erased",
    "message.received", "message.sent", "message.status", "note.added", "sarah.phase"];

  function liveState(text) {
    var el = document.getElementById("live-state");
    if (el) el.textContent = text;
  }

  // Calls `refresh` on every change: stream events if there are any, else a timer.
  function follow(refresh) {
    var polling = null;
    function poll() {
      if (polling) return;
      liveState("Live: checking every few seconds.");
      polling = setInterval(refresh, POLL_MS);
    }
    if (!window.EventSource) return poll();
    var opened = false;
    var source = new EventSource(STREAM, { withCredentials: true });
    source.onopen = function () { opened = true; liveState("Live: following the change feed."); };
    source.onmessage = refresh;  // unnamed events
    STREAM_TYPES.forEach(function (type) { source.addEventListener(type, refresh); });
    source.onerror = function () {
      if (!opened) { source.close(); poll(); }  // no feed here (404): poll instead
    };
    setInterval(refresh, 30000);  // a safety net for events missed while reconnecting
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.status === 204 ? null : r.ok ? r.json() : null; });
  }

  function fromHTML(html, tag) {
    var holder = document.createElement(tag);
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  // The leads list: replace changed rows, put new ones on top (first page only).
  var list = document.querySelector("[data-live-list]");
  if (list) {
    var since = list.dataset.since;
    var body = list.tBodies[0];
    follow(function () {
      getJSON("/ui/leads/changed?since=" + encodeURIComponent(since)).then(function (data) {
        if (!data) return;
        since = data.since;
        document.getElementById("counts").innerHTML = data.counts;
        data.rows.forEach(function (row) {
          var fresh = fromHTML("<table><tbody>" + row.html + "</tbody></table>", "div")
            .querySelector("tr");
          fresh.classList.add("fresh");
          var old = body.querySelector('tr[data-lead-id="' + row.id + '"]');
          if (old) { old.replaceWith(fresh); return; }
          if (list.dataset.firstPage !== "yes") return;
          var before = document.documentElement.scrollHeight;
          body.insertBefore(fresh, body.firstChild);
          var none = document.getElementById("no-leads");
          if (none) none.remove();
          // Keep what the user is looking at where it was.
          if (window.scrollY > 0) window.scrollBy(0, document.documentElement.scrollHeight - before);
        });
      });
    });
  }

  // The lead page: re-render the live part when the lead's version moved.
  var lead = document.querySelector("[data-live-lead]");
  function refreshLead() {
    var url = "/ui/leads/" + lead.dataset.liveLead + "/live?version=" + lead.dataset.version;
    return getJSON(url).then(function (data) {
      if (!data) return;
      var open = lead.querySelector("details[open]") !== null;
      lead.innerHTML = data.html;
      lead.dataset.version = data.version;
      if (open) lead.querySelector("details").open = true;  // reloads the events too
    });
  }
  if (lead) follow(refreshLead);

  // The raw events panel loads its content when first opened (a long history is heavy).
  document.addEventListener("toggle", function (event) {
    var panel = event.target;
    if (!panel.dataset || !panel.dataset.rawEvents || !panel.open || panel.dataset.loaded) return;
    panel.dataset.loaded = "yes";
    fetch(panel.dataset.rawEvents, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var list = new DOMParser().parseFromString(html, "text/html").getElementById("raw-events");
        if (list) panel.querySelector(".raw-body").replaceChildren(list);
      });
  }, true);

  // Actions post in the background; the decision is announced, the page refreshes itself.
  document.querySelectorAll("form[data-action]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var result = document.getElementById("action-result");
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch",
                   "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
      }).then(function (r) { return r.json().then(function (d) { return [r, d]; }); })
        .then(function (pair) {
          var d = pair[1];
          if (!pair[0].ok) { result.textContent = "Refused: " + (d.error || pair[0].status); return; }
          result.textContent = "Recorded" + (d.outcome ? ": " + d.outcome +
            (d.outcome_reason ? " (" + d.outcome_reason + ")" : "") : ".");
          if (form.querySelector("textarea")) form.reset();
          if (lead) refreshLead();
        })
        .catch(function () { result.textContent = "Not sent: the server did not answer."; });
    });
  });
})();
