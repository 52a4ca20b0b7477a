// Keyboard workflow for the queue and small helpers for the item page. Loaded as a file: the
// Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  // j / k move between queue rows, only while focus is inside the queue table (so the keys never
  // take over typing elsewhere: WCAG 2.1.4). Enter on a row link opens it, as links always do.
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-table .lp-row-link"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      return;
    }
    var table = document.getElementById("queue-table");
    if (table && table.contains(target) && (event.key === "j" || event.key === "k")) {
      var links = rowLinks();
      var index = links.indexOf(document.activeElement);
      var next = event.key === "j" ? Math.min(index + 1, links.length - 1) : Math.max(index - 1, 0);
      if (links[next]) {
        links[next].focus();
        event.preventDefault();
      }
    }
  });

  // "Use this reply" fills the composer in place instead of reloading the page.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-use-reply]");
    if (!link) {
      return;
    }
    var composer = document.getElementById("reply-text");
    if (!composer) {
      return;
    }
    event.preventDefault();
    composer.value = link.getAttribute("data-use-reply");
    composer.dispatchEvent(new Event("input", { bubbles: true }));
    composer.focus();
  });

  // Coming back to a tab that sat in the background: refresh at once rather than at the next tick.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") {
      return;
    }
    document.querySelectorAll("[data-refresh]").forEach(function (el) {
      el.dispatchEvent(new Event("refresh"));
    });
  });

  // The queue refreshes itself every 15 seconds. Remember which row had focus before the swap
  // and put focus back on it (or on the first row, if someone else took that item meanwhile),
  // so a keyboard user keeps their place.
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var results = document.getElementById("queue-results");
    var active = document.activeElement;
    focusedId = results && active && active.id && results.contains(active) ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedId) {
      return;
    }
    var again = document.getElementById(focusedId) || rowLinks()[0];
    if (again && document.activeElement !== again) {
      again.focus({ preventScroll: true });
    }
    focusedId = null;
  });
})();
