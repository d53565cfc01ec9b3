// The artist pages' progressive enhancement: the split editor's rows and live total, and reference
// uploads with a progress bar. Every page also works without it (fixed rows, a plain form post).
(function () {
  "use strict";

  // --- split editor ------------------------------------------------------------------------------
  // Shares have at most 4 decimals: count in ten-thousandths of a percent, so that 60 + 40 is exactly
  // 100 and 33.3333 * 3 is not (floating point would get both of those wrong now and then).
  var UNITS = 10000;
  var HUNDRED = 100 * UNITS;

  function parseShare(text) {
    var t = text.replace("%", "").trim();
    if (t === "") { return 0; }
    var m = /^(\d*)(?:\.(\d{1,4}))?$/.exec(t);
    if (!m || (m[1] === "" && m[2] === undefined)) { return NaN; }
    return parseInt(m[1] || "0", 10) * UNITS + parseInt(((m[2] || "") + "0000").slice(0, 4), 10);
  }

  function formatUnits(units) {
    var frac = String(units % UNITS);
    while (frac.length < 4) { frac = "0" + frac; }
    while (frac.length > 2 && frac.charAt(frac.length - 1) === "0") { frac = frac.slice(0, -1); }
    return Math.floor(units / UNITS) + "." + frac;
  }

  function setUpSplitEditor(form) {
    var body = form.querySelector(".share-rows tbody");
    var total = form.querySelector("#split-total");
    var save = form.querySelector("#split-save");
    var addButton = form.querySelector(".add-row");

    function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.share-row")); }

    function renumber() {
      rows().forEach(function (row, index) {
        var n = index + 1;
        [["select[name=party]", "party-", "Party, row "], ["input[name=share]", "share-", "Share in percent, row "],
         ["input[name=role]", "role-", "Role, row "]].forEach(function (spec) {
          var control = row.querySelector(spec[0]);
          var label = control.parentNode.querySelector("label");
          control.id = spec[1] + n;
          label.setAttribute("for", control.id);
          label.textContent = spec[2] + n;
        });
        row.querySelector(".remove-row .sr-only").textContent = " row " + n;
      });
    }

    function update() {
      var sum = 0;
      var broken = false;
      rows().forEach(function (row) {
        var units = parseShare(row.querySelector("input[name=share]").value);
        if (isNaN(units)) { broken = true; } else { sum += units; }
      });
      var ok = !broken && sum === HUNDRED;
      if (broken) {
        total.textContent = "Total: one share is not a number (use digits and up to 4 decimals)";
      } else {
        total.textContent = "Total: " + formatUnits(sum) + " %" + (ok ? "" : " — must be exactly 100 %");
      }
      total.classList.toggle("ok", ok);
      total.classList.toggle("bad", !ok);
      save.disabled = !ok;
      save.title = ok ? "" : "The shares must sum to exactly 100 % before the split can be saved.";
    }

    function addRow() {
      var last = rows()[rows().length - 1];
      var row = last.cloneNode(true);
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      row.querySelector("select").selectedIndex = 0;
      body.appendChild(row);
      renumber();
      update();
      row.querySelector("select").focus();
    }

    function removeRow(row) {
      if (rows().length > 1) {
        var next = row.nextElementSibling || row.previousElementSibling;
        row.parentNode.removeChild(row);
        renumber();
        if (next) { next.querySelector("select").focus(); }
      } else {
        row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
        row.querySelector("select").selectedIndex = 0;
      }
      update();
    }

    form.querySelectorAll(".remove-row").forEach(function (button) { button.hidden = false; });
    addButton.hidden = false;
    addButton.addEventListener("click", addRow);
    body.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-row");
      if (button) { removeRow(button.closest("tr")); }
    });
    body.addEventListener("input", update);
    body.addEventListener("change", update);
    update();
  }

  // --- reference upload --------------------------------------------------------------------------

  function formatBytes(bytes) {
    if (bytes < 1024) { return bytes + " B"; }
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + " KB"; }
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function setUpReferenceUpload(form) {
    var input = form.querySelector("input[type=file]");
    var errors = form.querySelector("#upload-errors");
    var box = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var text = form.querySelector("#upload-progress-text");
    var button = form.querySelector("button[type=submit]");
    var list = document.getElementById("reference-uploads");

    function showError(html) {
      errors.innerHTML = html;
      input.setAttribute("aria-invalid", "true");
    }

    form.addEventListener("submit", function (event) {
      if (!window.FormData || !input.files.length) { return; } // the server says what is missing
      event.preventDefault();
      var file = input.files[0];
      var xhr = new XMLHttpRequest();
      errors.innerHTML = "";
      input.removeAttribute("aria-invalid");
      box.hidden = false;
      bar.max = file.size || 1;
      bar.value = 0;
      text.textContent = "0 B of " + formatBytes(file.size) + " sent";
      button.disabled = true;

      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        bar.max = e.total;
        bar.value = e.loaded;
        text.textContent = formatBytes(e.loaded) + " of " + formatBytes(e.total) + " sent";
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = bar.max;
        text.textContent = "All " + formatBytes(file.size) + " sent; checking the audio…";
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        if (xhr.status === 201) {
          var status = fragment(xhr.responseText);
          var empty = list.querySelector("[data-empty]");
          if (empty) { empty.parentNode.removeChild(empty); }
          list.insertBefore(status, list.firstChild);
          if (window.htmx) { window.htmx.process(status); } // start polling while it is queued
          form.reset();
          text.textContent = "Received " + file.name + ".";
        } else if (xhr.status === 400) {
          showError(xhr.responseText);
          text.textContent = "Refused.";
        } else {
          showError('<ul class="errorlist"><li>The upload failed (HTTP ' + xhr.status + "). Try again.</li></ul>");
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        showError('<ul class="errorlist"><li>The connection was lost before the file was sent. Try again.</li></ul>');
      });
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.send(new FormData(form)); // carries the CSRF token field with the file
    });
  }

  function start() {
    document.querySelectorAll("form[data-split-editor]").forEach(setUpSplitEditor);
    document.querySelectorAll("form[data-reference-upload]").forEach(setUpReferenceUpload);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
