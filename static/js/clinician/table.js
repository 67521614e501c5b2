/* Sortable tables: a button in a column heading sorts by that column's data-* value. */
(function () {
  "use strict";

  function sortable(table) {
    var body = table.tBodies[0];
    var lang = document.documentElement.lang || "nb";
    table.querySelectorAll("th button[data-sort-key]").forEach(function (button) {
      button.addEventListener("click", function () {
        var th = button.closest("th");
        var index = Array.prototype.indexOf.call(th.parentNode.children, th);
        var key = button.dataset.sortKey;
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var value = function (row) {
          var raw = row.cells[index].dataset[key] || "";
          return key === "status" ? raw : Number(raw);
        };
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = value(a), y = value(b);
          var order = typeof x === "string" ? x.localeCompare(y, lang) : x - y;
          return ascending ? order : -order;
        });
        body.append.apply(body, rows);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-sortable]").forEach(sortable);
  });
})();
