// Progressive enhancement only: every page works without this file.
// - a form with data-confirm asks before it is sent;
// - a page with data-refresh-seconds on an element reloads itself while something it shows is under way;
// - a chart too wide for the screen shows its latest hours first.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".chart").forEach(function (chart) {
    chart.scrollLeft = chart.scrollWidth;
  });
  var marked = document.querySelector("[data-refresh-seconds]");
  if (marked) {
    var seconds = parseFloat(marked.getAttribute("data-refresh-seconds"));
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
});
