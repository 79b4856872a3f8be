// On a narrow screen a wide table becomes stacked rows, one card per row: each cell is labelled
// with its column's header here, and style.css lays the rows out. Without JavaScript the table
// keeps its columns and scrolls inside its own box; the page never scrolls sideways.
(function () {
  var WIDE = 4; // columns from which a table stacks
  Array.prototype.forEach.call(document.querySelectorAll("table"), function (table) {
    var header = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!header) { return; }
    var labels = [];
    Array.prototype.forEach.call(header.cells, function (cell) {
      for (var span = 0; span < (cell.colSpan || 1); span += 1) {
        labels.push(cell.textContent.replace(/\s+/g, " ").trim());
      }
    });
    if (labels.length < WIDE) { return; }
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (cell.tagName === "TD" && labels[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", labels[column]);
          }
          column += cell.colSpan || 1;
        });
      });
    });
    table.classList.add("stacks");
  });
}());
