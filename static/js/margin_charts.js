/* Backtest charts: the charts.js payload, plus per-dataset `points` (markers, no line) and `stepped`.
 *
 * Markup: <canvas data-margin-chart="ID"></canvas> and <script type="application/json" id="ID">{...}</script>
 */
(function () {
  "use strict";

  var PALETTE = { long: "#0f9d6b", short: "#d94848", accent: "#2f5bea", warn: "#e29100", danger: "#c9302c" };
  var SERIES = ["#2f5bea", "#0f9d6b", "#e29100", "#d94848", "#7c3aed"];

  function pct(v) { return v.toLocaleString(undefined, { maximumFractionDigits: 2 }) + " %"; }

  function build(canvas) {
    var source = document.getElementById(canvas.dataset.marginChart);
    if (!source || canvas.dataset.built || !window.Chart) { return; }
    var spec = JSON.parse(source.textContent);
    if (!spec.labels || !spec.labels.length) {
      var empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "No data in this period.";
      canvas.replaceWith(empty);
      return;
    }
    canvas.dataset.built = "1";
    var datasets = spec.datasets.map(function (d, i) {
      var color = PALETTE[d.color] || SERIES[i % SERIES.length];
      var points = !!d.points;
      return {
        label: d.label,
        data: d.data,
        borderColor: color,
        backgroundColor: color,
        borderWidth: points ? 0 : 1.6,
        showLine: !points,
        pointRadius: points ? (d.color === "danger" ? 3.5 : 1.5) : 0,
        pointHoverRadius: 4,
        stepped: d.stepped || spec.stepped ? "before" : false,
        spanGaps: false,
        tension: 0,
        order: points ? 0 : 1,
      };
    });
    canvas.dataset.points = String(datasets.reduce(function (n, d) { return n + d.data.filter(function (v) { return v !== null; }).length; }, 0));
    new window.Chart(canvas, {
      type: "line",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: { callbacks: { label: function (ctx) { return " " + ctx.dataset.label + ": " + pct(ctx.parsed.y); } } },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 24,
               callback: function (value) { return this.getLabelForValue(value).slice(0, 10); } } },
          y: { beginAtZero: true, grid: { color: "#eef1f5" }, ticks: { callback: function (v) { return pct(v); } } },
        },
      },
    });
  }

  function buildAll() {
    if (!window.Chart) { return; }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#667085";
    document.querySelectorAll("canvas[data-margin-chart]").forEach(build);
  }

  document.addEventListener("DOMContentLoaded", buildAll);
})();
