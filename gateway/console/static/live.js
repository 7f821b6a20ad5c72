/*
 * Live console pages. Listens to /console/events (server-sent events: ids and kinds,
 * never survivor data) and
 *  - on the referrals inbox/outbox, re-reads the page and swaps in its list, unless the
 *    person is typing in one of its forms (then right after she leaves the field);
 *  - everywhere, counts in the nav badge the referrals that changed since she last
 *    opened the list (kept per tab in sessionStorage).
 * Without JavaScript the pages work as before: the badge stays hidden.
 */
(function () {
  "use strict";
  var link = document.getElementById("live-new");
  var badge = document.getElementById("live-badge");
  if (!link || !badge || !window.EventSource || !window.sessionStorage) {
    return;
  }
  var SEEN = "hub-live-new";
  var LAST = "hub-live-last";
  var onList = window.location.pathname === "/console/referrals";

  function stored() {
    try {
      var value = JSON.parse(window.sessionStorage.getItem(SEEN) || "[]");
      return Array.isArray(value) ? value : [];
    } catch (ignored) {
      return [];
    }
  }

  // Opening the list is looking at it: the count starts again from nothing.
  var changed = onList ? [] : stored();

  function show() {
    window.sessionStorage.setItem(SEEN, JSON.stringify(changed));
    badge.textContent = String(changed.length);
    link.hidden = changed.length === 0;
  }

  var busy = false;
  var wanted = false;

  function typing() {
    var active = document.activeElement;
    var main = document.querySelector("main");
    return (
      !!active && !!main && main.contains(active) &&
      (active.tagName === "TEXTAREA" || active.tagName === "INPUT" || active.tagName === "SELECT")
    );
  }

  function refresh() {
    if (busy || typing()) {
      wanted = true;
      return;
    }
    busy = true;
    wanted = false;
    window.fetch(window.location.href, {credentials: "same-origin", headers: {Accept: "text/html", "X-Hub-Live-Refresh": "1"}})
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var next = new window.DOMParser().parseFromString(html, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (next && main && !typing()) {
          main.replaceWith(document.adoptNode(next));
          document.documentElement.setAttribute("data-live-refreshed", String(Date.now()));
        } else if (next && main) {
          wanted = true;
        }
      })
      .catch(function () {
        wanted = true;
      })
      .then(function () {
        busy = false;
      });
  }

  document.addEventListener("focusout", function () {
    window.setTimeout(function () {
      if (wanted && onList) {
        refresh();
      }
    }, 0);
  });

  var url = "/console/events";
  var last = window.sessionStorage.getItem(LAST);
  // Elsewhere, pick up what happened while she moved between pages; the list itself is fresh.
  if (!onList && last && /^[0-9]{1,18}$/.test(last)) {
    url += "?after=" + last;
  }
  var source = new window.EventSource(url);
  source.addEventListener("message", function (message) {
    var event;
    try {
      event = JSON.parse(message.data);
    } catch (ignored) {
      return;
    }
    window.sessionStorage.setItem(LAST, String(event.id));
    if (event.topic !== "REFERRAL") {
      return;
    }
    if (changed.indexOf(event.subjectId) < 0) {
      changed.push(event.subjectId);
      show();
    }
    if (onList) {
      refresh();
    }
  });
  source.addEventListener("error", function () {
    // Signed out or refused: the browser will not reconnect; a dropped line it retries.
    if (source.readyState === window.EventSource.CLOSED) {
      link.hidden = changed.length === 0;
    }
  });
  show();
})();
