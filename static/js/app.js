/* Charts from data embedded in the page. A chart is
 *   <canvas data-chart="ID" aria-describedby="..."></canvas>
 *   {{ spec|json_script:"ID" }}   with spec = {type, labels, datasets: [{label, data}], stacked?}
 * The same numbers are always in a table next to the chart, for screen readers and for
 * anyone who would rather read than look. */
(function () {
  "use strict";
  var palette = ["#1f5fbf", "#e07b00", "#1b7a3a", "#b3261e", "#6b3fa0", "#0f7c8c", "#8a6d00", "#5a6272"];

  function draw(canvas) {
    if (canvas.dataset.drawn || typeof Chart === "undefined") return;
    var el = document.getElementById(canvas.dataset.chart);
    if (!el) return;
    var spec = JSON.parse(el.textContent);
    var round = spec.type === "doughnut" || spec.type === "pie";
    var datasets = spec.datasets.map(function (ds, i) {
      var colour = ds.color || palette[i % palette.length];
      return {
        label: ds.label,
        data: ds.data,
        backgroundColor: round ? spec.labels.map(function (_, j) { return palette[j % palette.length]; }) : colour,
        borderColor: colour,
        fill: false,
        tension: 0.2
      };
    });
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      locale: spec.locale || document.documentElement.lang || undefined,  // axis numbers per the page's language
      plugins: { legend: { display: round || datasets.length > 1, position: "bottom" } }
    };
    if (!round) {
      var value = { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } };
      options.scales = spec.horizontal ? { y: { stacked: !!spec.stacked }, x: value } : { x: { stacked: !!spec.stacked }, y: value };
      if (spec.horizontal) options.indexAxis = "y";
    }
    new Chart(canvas, { type: spec.type || "bar", data: { labels: spec.labels, datasets: datasets }, options: options });
    canvas.dataset.drawn = "1";
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
