// The review queue and the claim page, enhanced: keyboard review (j/k or arrows, a, r, p, x, Enter),
// decisions without a page load, the bulk confirmation with its count, playing matched spans, and
// countdowns that tick. Everything also works without this file: rows are POST forms, the bulk form
// asks on a page of its own, and the span buttons are links to the audio with a #t= media fragment.
(function () {
  "use strict";

  var DAY_MS = 86400000;

  // The same words as rights.review.time_left, so a tick does not change how the page reads.
  function timeLeft(ms) {
    var seconds = Math.floor(ms / 1000);
    if (seconds <= 0) { return "expired"; }
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    if (days) { return days + " d " + hours + " h left"; }
    if (hours) { return hours + " h " + minutes + " min left"; }
    return Math.max(minutes, 1) + " min left";
  }

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-deadline]").forEach(function (element) {
      var deadline = Date.parse(element.getAttribute("datetime"));
      if (isNaN(deadline)) { return; }
      element.textContent = timeLeft(deadline - now);
      element.classList.toggle("bad", deadline - now < DAY_MS);
    });
  }

  // Play `audio` from `start` and pause at `end` (seconds). Seeking needs the metadata first.
  function playSpan(audio, src, start, end) {
    if (src && audio.getAttribute("src") !== src) {
      audio.setAttribute("src", src);
    }
    audio.dataset.spanEnd = String(end);
    function seekAndPlay() {
      audio.currentTime = start;
      var playing = audio.play();
      if (playing && playing.catch) { playing.catch(function () { /* muted tab or no output: the seek stays */ }); }
    }
    if (audio.readyState >= 1) {
      seekAndPlay();
    } else {
      audio.addEventListener("loadedmetadata", seekAndPlay, { once: true });
      audio.preload = "metadata";
      audio.load();
    }
  }

  document.addEventListener("timeupdate", function (event) {
    var audio = event.target;
    var end = parseFloat(audio.dataset ? audio.dataset.spanEnd : "");
    if (!isNaN(end) && audio.currentTime >= end) {
      audio.pause();
      delete audio.dataset.spanEnd;
    }
  }, true);

  // Claim page: "Play matched span" links seek the player on the page instead of opening the file.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-seek]");
    if (!link) { return; }
    var audio = document.getElementById(link.getAttribute("data-seek"));
    if (!audio) { return; }
    event.preventDefault();
    playSpan(audio, null, parseFloat(link.dataset.start), parseFloat(link.dataset.end));
  });

  function isTyping(element) {
    if (!element || !element.tagName) { return false; }
    var tag = element.tagName;
    if (tag === "INPUT") { return element.type !== "checkbox" && element.type !== "radio"; }
    return tag === "SELECT" || tag === "TEXTAREA" || tag === "AUDIO" || element.isContentEditable;
  }

  function initQueue(table) {
    var body = table.tBodies[0];
    var status = document.getElementById("review-status");
    var player = document.getElementById("queue-player");
    var playerBox = document.getElementById("queue-player-box");
    var playerTitle = document.getElementById("queue-player-title");
    var bulk = document.getElementById("bulk-form");
    var countText = document.getElementById("checked-count");
    var countDefault = countText ? countText.textContent : "";

    function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr[data-claim]")); }
    function current() { return body.querySelector("tr[data-claim].selected"); }

    function select(row, focus) {
      rows().forEach(function (other) {
        other.classList.remove("selected");
        other.setAttribute("aria-selected", "false");
        other.tabIndex = -1;
      });
      if (!row) { return; }
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      row.tabIndex = 0;  // a roving tab stop: Tab reaches the selected row, not every row
      if (focus) { row.focus({ preventScroll: true }); }
      row.scrollIntoView({ block: "nearest" });
    }

    function move(step) {
      var all = rows();
      if (!all.length) { return; }
      var index = all.indexOf(current());
      var next = index === -1 ? 0 : Math.min(all.length - 1, Math.max(0, index + step));
      select(all[next], true);
    }

    function announce(text, isError) {
      if (!status) { return; }
      status.textContent = text;
      status.classList.toggle("error", !!isError);
    }

    function checkboxes() {
      return Array.prototype.slice.call(document.querySelectorAll('input[type="checkbox"][name="claim"][form="bulk-form"]'));
    }

    function checkedCount() { return checkboxes().filter(function (box) { return box.checked; }).length; }

    function confirmText(template, count) {
      return template.replace("{n}", count).replace("claims", count === 1 ? "claim" : "claims");
    }

    function updateBulk() {
      if (!bulk) { return; }
      var count = checkedCount();
      if (countText) { countText.textContent = count ? count + " checked" : countDefault; }
      bulk.querySelectorAll("button[data-confirm-template]").forEach(function (button) {
        button.setAttribute("data-confirm", confirmText(button.getAttribute("data-confirm-template"), count));
      });
      var first = bulk.querySelector("button[data-confirm-template]");
      if (first) { bulk.setAttribute("data-confirm", first.getAttribute("data-confirm")); }
    }

    function removeRow(row) {
      var index = rows().indexOf(row);
      row.parentNode.removeChild(row);
      var rest = rows();
      if (rest.length) {
        select(rest[Math.min(index, rest.length - 1)], true);
      } else {
        var empty = document.createElement("tr");
        empty.className = "empty";
        empty.innerHTML = '<td colspan="8">Nothing left on this page. <a href="">Reload the queue</a>.</td>';
        body.appendChild(empty);
        var heading = document.getElementById("claims-heading");
        if (heading) { heading.tabIndex = -1; heading.focus(); }
      }
      updateBulk();
    }

    function decide(row, decision) {
      if (!row || row.dataset.busy) { return; }
      var form = row.querySelector('form[data-decision="' + decision + '"]');
      if (!form) { return; }
      row.dataset.busy = "1";
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(
          function (data) { return { ok: response.ok, data: data }; },
          function () { return { ok: false, data: { message: "The server answered " + response.status + "; nothing was changed." } }; }
        );
      }).then(function (result) {
        announce(result.data.message, !result.ok);
        if (result.ok || result.data.gone) { removeRow(row); } else { delete row.dataset.busy; }
      }).catch(function () {
        delete row.dataset.busy;
        announce("The network failed; nothing was changed. Try again.", true);
      });
    }

    function play(row) {
      if (!row || !player) { return; }
      if (playerBox) { playerBox.hidden = false; }
      if (playerTitle) { playerTitle.textContent = row.dataset.title + " (claim " + row.dataset.claim + ")"; }
      playSpan(player, row.dataset.audioUrl, parseFloat(row.dataset.start), parseFloat(row.dataset.end));
    }

    function toggle(row) {
      var box = row && row.querySelector('input[type="checkbox"][name="claim"]');
      if (!box) { return; }
      box.checked = !box.checked;
      updateBulk();
    }

    body.addEventListener("submit", function (event) {
      var form = event.target;
      var decision = form.getAttribute("data-decision");
      if (!decision) { return; }
      event.preventDefault();
      decide(form.closest("tr"), decision);
    });

    body.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-claim]");
      if (row && row !== current()) { select(row, false); }
    });

    document.addEventListener("change", function (event) {
      if (event.target.name === "claim") { updateBulk(); }
    });

    // Runs before site.js (capture phase): name the count in the question, and tell the server it was asked.
    if (bulk) {
      document.addEventListener("submit", function (event) {
        if (event.target !== bulk) { return; }
        var count = checkedCount();
        if (!count) {
          event.preventDefault();
          event.stopImmediatePropagation();
          announce("Check at least one claim first (x checks the selected row).", true);
          return;
        }
        var template = (event.submitter && event.submitter.getAttribute("data-confirm-template")) || "Decide {n} claims?";
        bulk.setAttribute("data-confirm", confirmText(template, count));
        bulk.elements.confirmed.value = "1";
      }, true);
    }

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) { return; }
      var own = event.target.closest && event.target.closest("tr[data-claim]");
      if (own && own !== current()) { select(own, false); }
      var row = current();
      switch (event.key) {
        case "j": case "ArrowDown": move(1); break;
        case "k": case "ArrowUp": move(-1); break;
        case "a": decide(row, "approve"); break;
        case "r": decide(row, "release"); break;
        case "p": play(row); break;
        case "x": toggle(row); break;
        case "Enter":
          // Enter on a link or button does what it says; elsewhere it opens the selected claim.
          if (!row || (event.target.closest && event.target.closest("a, button, summary"))) { return; }
          window.location.href = row.dataset.detailUrl;
          break;
        default: return;
      }
      event.preventDefault();
    });

    select(rows()[0], false);
    updateBulk();
  }

  function start() {
    var table = document.querySelector("table[data-review-queue]");
    if (table) { initQueue(table); }
    tickCountdowns();
    window.setInterval(tickCountdowns, 30000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
