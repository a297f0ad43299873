// Live updates without reloads. The page follows the change stream (/ui/changes/stream:
// the session's own stream, server-sent events) from the change it was rendered after, and
// each change prompts a fetch of what changed. Only when the stream cannot be had (no
// EventSource, or it fails before opening or for good) does the page poll instead. The
// user's filters live in the session and the page is patched in place, so filters, scroll
// and typing survive.
(function () {
  "use strict";
  var STREAM = "/ui/changes/stream";
  var POLL_MS = 3000;
  var received = 0;  // changes the stream delivered (data-stream-events: tests read it)

  function liveState(text, mode) {
    var el = document.getElementById("live-state");
    if (el) el.textContent = text;
    document.documentElement.dataset.live = mode;
  }

  // Runs `refresh` at most once at a time; changes arriving meanwhile cause one more run.
  function coalesced(refresh) {
    var busy = false, again = false;
    return function run() {
      if (busy) { again = true; return; }
      busy = true;
      Promise.resolve().then(refresh).catch(function () {}).then(function () {
        busy = false;
        if (again) { again = false; run(); }
      });
    };
  }

  // Calls `refresh` on every change of the stream (after `after`, of `leadId` if given);
  // answers whether the stream is open now.
  function follow(after, leadId, refresh) {
    var run = coalesced(refresh);
    var polling = null;
    var streaming = false;
    function poll() {
      streaming = false;
      if (polling) return;
      liveState("Live: checking every few seconds (the change stream is unavailable).", "poll");
      polling = setInterval(run, POLL_MS);
    }
    if (!window.EventSource) { poll(); return function () { return false; }; }
    var url = STREAM + "?after=" + encodeURIComponent(after || "0") +
      (leadId ? "&lead_id=" + encodeURIComponent(leadId) : "");
    var source = new EventSource(url);  // same origin: the session cookie goes along
    source.onopen = function () {
      streaming = true;
      if (polling) { clearInterval(polling); polling = null; run(); }  // back from polling
      liveState("Live: following the change stream.", "stream");
    };
    source.onmessage = function () {
      received += 1;
      document.documentElement.dataset.streamEvents = String(received);
      run();
    };
    source.onerror = function () {
      // While open, the browser reconnects by itself and resumes after the last id it
      // got (Last-Event-ID): no gap. Closed (refused, or never opened): poll instead.
      if (source.readyState === EventSource.CLOSED) { source.close(); poll(); }
    };
    return function () { return streaming; };
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
    follow(list.dataset.streamAfter, null, function () {
      return getJSON("/ui/leads/changed?since=" + encodeURIComponent(since)).then(function (data) {
        if (!data) return;
        since = data.since;
        document.getElementById("counts").innerHTML = data.counts;
        (data.gone || []).forEach(function (id) {
          var stale = body.querySelector('tr[data-lead-id="' + id + '"]');
          if (stale) stale.remove();
        });
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
  var leadStreaming = function () { return false; };
  if (lead) leadStreaming = follow(lead.dataset.streamAfter, lead.dataset.liveLead, refreshLead);

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
          // The stream brings the change in; without it, fetch it now.
          if (lead && !leadStreaming()) refreshLead();
        })
        .catch(function () { result.textContent = "Not sent: the server did not answer."; });
    });
  });
})();
