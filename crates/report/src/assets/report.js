// rolescope report: sorting, filtering and copying, nothing else. No request leaves the page.
"use strict";
(function () {
  function rows(table) {
    return Array.prototype.slice.call(table.tBodies[0].rows);
  }
  function cellValue(row, column, numeric) {
    var cell = row.cells[column];
    var raw = cell ? (cell.getAttribute("data-v") || cell.textContent) : "";
    return numeric ? parseFloat(raw) || 0 : raw.trim().toLowerCase();
  }
  function count(table) {
    var shown = rows(table).filter(function (r) { return !r.hidden; }).length;
    var out = document.querySelector('[data-count-for="' + table.id + '"]');
    if (out) { out.textContent = String(shown); }
  }
  function sortBy(table, header) {
    var column = header.cellIndex;
    var numeric = header.getAttribute("data-sort") === "num";
    var descending = header.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(header.parentNode.cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var sorted = rows(table).sort(function (a, b) {
      var x = cellValue(a, column, numeric), y = cellValue(b, column, numeric);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    var body = table.tBodies[0];
    sorted.forEach(function (r) { body.appendChild(r); });
  }
  function filter(table, text) {
    var words = text.toLowerCase().split(/\s+/).filter(Boolean);
    rows(table).forEach(function (r) {
      var hay = r.textContent.toLowerCase();
      r.hidden = !words.every(function (w) { return hay.indexOf(w) >= 0; });
    });
    count(table);
  }
  function copy(text, button) {
    // The selection copy works from file:// and in mail clients; the clipboard API is the
    // second try where a browser refuses it.
    if (!selectAndCopy(text) && navigator.clipboard) {
      navigator.clipboard.writeText(text).catch(function () { /* nothing more to try */ });
    }
    button.textContent = "copied";
    setTimeout(function () { button.textContent = "copy"; }, 1200);
  }
  function selectAndCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    document.body.removeChild(area);
    return done;
  }
  document.querySelectorAll("table.data").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (h) {
      h.tabIndex = 0;
      h.addEventListener("click", function () { sortBy(table, h); });
      h.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { sortBy(table, h); }
      });
    });
    count(table);
  });
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (table) {
      input.addEventListener("input", function () { filter(table, input.value); });
    }
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("button.copy");
    if (button) { copy(button.getAttribute("data-copy"), button); }
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
