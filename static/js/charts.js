// Draws every Plotly figure on the page. Figures are built in Python (insights/charts.py) and
// embedded as data with json_script; an element opts in with data-plotly="<id of that script>".
// Runs on load and after every htmx swap, so fragments that bring new charts get them drawn.
// No inline scripts (the CSP forbids them) and plotly.js is served by Bosco itself.
(function () {
  "use strict";

  var CONFIG = { displayModeBar: false, responsive: true, displaylogo: false, scrollZoom: false };

  function draw(root) {
    if (!window.Plotly) return;
    var scope = root && root.querySelectorAll ? root : document;
    var nodes = Array.prototype.slice.call(scope.querySelectorAll("[data-plotly]"));
    if (scope.matches && scope.matches("[data-plotly]")) nodes.push(scope);
    nodes.forEach(function (el) {
      if (el.getAttribute("data-drawn") === "true") return;
      var source = document.getElementById(el.getAttribute("data-plotly"));
      if (!source) return;
      var figure;
      try {
        figure = JSON.parse(source.textContent);
      } catch (err) {
        el.textContent = "This chart could not be drawn.";
        return;
      }
      el.setAttribute("data-drawn", "true");
      el.classList.remove("chart-loading");
      window.Plotly.newPlot(el, figure.data || [], figure.layout || {}, CONFIG);
    });
  }

  function purge(root) {
    if (!window.Plotly || !root || !root.querySelectorAll) return;
    root.querySelectorAll("[data-drawn='true']").forEach(function (el) {
      window.Plotly.purge(el);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // Free the old charts' listeners before htmx replaces them, then draw what arrived.
  document.addEventListener("htmx:beforeSwap", function (event) { purge(event.detail.target); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
  // A chart inside a closed <details> or a hidden tab has no width until shown.
  document.addEventListener("toggle", function (event) {
    if (!window.Plotly || !event.target.querySelectorAll) return;
    event.target.querySelectorAll("[data-drawn='true']").forEach(function (el) { window.Plotly.Plots.resize(el); });
  }, true);
  window.boscoCharts = { draw: draw };
})();
