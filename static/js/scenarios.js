/* Scenario pages: one line per market of each scenario's path (price change in % of today's), from json_script. */
(function () {
  "use strict";

  var COLORS = ["#2f5bea", "#d94848", "#0f9d6b", "#c77700", "#7b4bd6", "#1b2330", "#0aa2c0", "#b5487a"];

  function draw() {
    var element = document.getElementById("scenario-charts");
    if (!element || typeof Chart === "undefined") return;
    var charts = JSON.parse(element.textContent);
    document.querySelectorAll("canvas[data-scenario-chart]").forEach(function (target) {
      var path = charts[target.getAttribute("data-scenario-chart")];
      if (!path) return;
      var datasets = path.series.map(function (series, i) {
        var color = COLORS[i % COLORS.length];
        return {label: series.symbol, data: series.change_pct.map(function (y, k) { return {x: path.hours[k], y: y}; }),
          borderColor: color, backgroundColor: color, pointRadius: path.hours.length > 40 ? 0 : 2, borderWidth: 2,
          borderDash: i % 2 ? [6, 4] : [], showLine: true};  // dashed every other market: equal paths stay visible
      });
      new Chart(target, {type: "scatter", data: {datasets: datasets}, options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: {legend: {position: "bottom", display: datasets.length > 1}},
        scales: {
          x: {type: "linear", title: {display: true, text: "hours"}},
          y: {title: {display: true, text: "change from today"}, ticks: {callback: function (v) { return v + " %"; }}}
        }
      }});
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
