/* Builds Chart.js charts from JSON embedded with Django's json_script.
 *
 * Markup: <canvas data-chart="ID"></canvas> and <script type="application/json" id="ID">{...}</script>
 * Payload: {type: "bar"|"line", labels: [...], datasets: [{label, data, color?}], format: "usd"|"pct"|"count"|"price",
 *           stepped?: bool, x_title?: str, y_title?: str}
 */
(function () {
  "use strict";

  var PALETTE = {
    long: "#0f9d6b",
    short: "#d94848",
    accent: "#2f5bea",
    warn: "#e29100",
    danger: "#9b1c1c",
  };
  var SERIES = ["#2f5bea", "#0f9d6b", "#e29100", "#d94848", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569", "#b45309"];

  function compact(value, prefix) {
    var abs = Math.abs(value);
    var sign = value < 0 ? "−" : "";
    var units = [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < units.length; i++) {
      if (abs >= units[i][0]) {
        return sign + prefix + (abs / units[i][0]).toFixed(abs / units[i][0] >= 100 ? 0 : 1) + units[i][1];
      }
    }
    return sign + prefix + abs.toLocaleString(undefined, { maximumFractionDigits: abs >= 100 ? 0 : 2 });
  }

  var FORMATS = {
    usd: function (v) { return compact(v, "$"); },
    count: function (v) { return Math.round(v).toLocaleString(); },
    pct: function (v) { return v.toLocaleString(undefined, { maximumFractionDigits: 2 }) + " %"; },
    price: function (v) { return v.toLocaleString(undefined, { maximumSignificantDigits: 6 }); },
  };

  function withAlpha(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function build(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || canvas.dataset.built) { return; }
    var spec = JSON.parse(source.textContent);
    var format = FORMATS[spec.format] || FORMATS.count;
    var isLine = spec.type === "line";
    var datasets = spec.datasets.map(function (d, i) {
      var color = PALETTE[d.color] || SERIES[i % SERIES.length];
      return {
        label: d.label,
        data: d.data,
        borderColor: color,
        backgroundColor: isLine ? withAlpha(color, 0.12) : withAlpha(color, 0.8),
        borderWidth: isLine ? 2 : 0,
        borderRadius: isLine ? 0 : 3,
        pointRadius: isLine && d.data.length > 60 ? 0 : 2,
        pointHoverRadius: 4,
        tension: isLine && !spec.stepped ? 0.15 : 0,
        stepped: spec.stepped ? "before" : false,
        fill: false,
      };
    });
    if (!datasets.length || !spec.labels.length) {
      var empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "No data yet.";
      canvas.replaceWith(empty);
      return;
    }
    canvas.dataset.built = "1";
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: datasets.length > 1, position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: {
            callbacks: {
              label: function (ctx) { return " " + ctx.dataset.label + ": " + format(ctx.parsed.y); },
            },
          },
        },
        scales: {
          x: {
            grid: { display: false },
            ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 16 },
            title: { display: !!spec.x_title, text: spec.x_title || "" },
          },
          y: {
            beginAtZero: spec.format !== "price",
            grid: { color: "#eef1f5" },
            ticks: { callback: function (v) { return format(v); } },
            title: { display: !!spec.y_title, text: spec.y_title || "" },
          },
        },
      },
    });
  }

  function buildAll(root) {
    if (!window.Chart) { return; }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#667085";
    (root || document).querySelectorAll("canvas[data-chart]").forEach(build);
  }

  document.addEventListener("DOMContentLoaded", function () { buildAll(document); });
  document.addEventListener("htmx:after:swap", function (event) { buildAll(event.target); });
})();
