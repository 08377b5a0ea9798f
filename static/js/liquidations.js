/* The coverage backtest chart: realised bad debt per window (bars) against the predicted quantiles (lines);
 * windows above the highest quantile are drawn in red.
 *
 * Markup: <canvas data-backtest-chart="ID"></canvas> and <script type="application/json" id="ID">{labels, realised,
 *          quantiles: [{label, data}], exceeded: [bool], runs: [id], ages: [hours]}</script>
 */
(function () {
  "use strict";

  var LINES = ["#e29100", "#7c3aed", "#9b1c1c", "#0891b2"];

  function usd(v) {
    var abs = Math.abs(v);
    var units = [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < units.length; i++) {
      if (abs >= units[i][0]) { return "$" + (v / units[i][0]).toFixed(1) + units[i][1]; }
    }
    return "$" + v.toLocaleString(undefined, { maximumFractionDigits: 0 });
  }

  function build(canvas) {
    var source = document.getElementById(canvas.dataset.backtestChart);
    if (!source || canvas.dataset.built || !window.Chart) { return; }
    var spec = JSON.parse(source.textContent);
    if (!spec.labels || !spec.labels.length) { return; }
    canvas.dataset.built = "1";
    var datasets = [{
      type: "bar",
      label: "Realised bad debt",
      data: spec.realised,
      backgroundColor: spec.exceeded.map(function (e) { return e ? "#c9302c" : "#2f5bea"; }),
      order: 2,
    }];
    spec.quantiles.forEach(function (q, i) {
      datasets.push({
        type: "line", label: "Predicted " + q.label, data: q.data, borderColor: LINES[i % LINES.length],
        backgroundColor: LINES[i % LINES.length], borderWidth: 1.6, pointRadius: 0, stepped: "middle", order: 1,
      });
    });
    new window.Chart(canvas, {
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: {
            callbacks: {
              label: function (ctx) { return " " + ctx.dataset.label + ": " + usd(ctx.parsed.y); },
              footer: function (items) {
                var i = items[0].dataIndex;
                return "run #" + spec.runs[i] + ", " + spec.ages[i] + " h old";
              },
            },
          },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 16 } },
          y: { beginAtZero: true, grid: { color: "#eef1f5" }, ticks: { callback: function (v) { return usd(v); } } },
        },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-backtest-chart]").forEach(build);
  });
})();
