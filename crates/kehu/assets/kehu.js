// Kehu's own small enhancements; every page works without them.
// Buttons marked data-print print the page (the Content-Security-Policy
// allows no inline handlers, so they are bound here).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});

// On a phone a table becomes one card per row: each cell gets its column's
// heading as a label (kehu.css shows it on narrow screens), so a table reads
// without scrolling sideways. Without this script tables scroll instead.
function stackTables() {
  document.querySelectorAll("table").forEach(function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) {
      return;
    }
    var labels = Array.prototype.map.call(head.cells, function (th) {
      return th.textContent.trim();
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, i) {
          if (labels[i] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", labels[i]);
          }
        });
      });
    });
    table.classList.add("stacked");
  });
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", stackTables);
} else {
  stackTables();
}
