/* Insurance pages: Chart.js charts from json_script data, and the run form's model-specific fields. */
(function () {
  "use strict";

  // A <select data-autosubmit> submits its form when changed (no inline handlers: Content-Security-Policy).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
      select.form.submit();
    }
  });

  function data(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function money(value) {
    var abs = Math.abs(value);
    if (abs >= 1e9) return "$" + (value / 1e9).toFixed(2) + "B";
    if (abs >= 1e6) return "$" + (value / 1e6).toFixed(2) + "M";
    if (abs >= 1e3) return "$" + (value / 1e3).toFixed(1) + "K";
    return "$" + value.toFixed(0);
  }

  function percent(value) {
    return value >= 0.01 ? (value * 100).toFixed(1) + " %" : (value * 100).toPrecision(2) + " %";
  }

  function canvas(name) {
    return document.querySelector('canvas[data-insurance-chart="' + name + '"]');
  }

  var base = {responsive: true, maintainAspectRatio: false, animation: false, plugins: {legend: {position: "bottom"}}};

  function options(extra) {
    return Object.assign({}, base, extra);
  }

  function exceedanceDatasets(exceedance, label, color) {
    return {label: label, data: exceedance.x.map(function (x, i) { return {x: x, y: exceedance.p[i]}; }),
      borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 2, stepped: "after", showLine: true};
  }

  // The x axis spans the simulated losses (not the fund): log scale when they range over two decades or more.
  function exceedanceAxis(series) {
    var maxLoss = 0, minPositive = Infinity;
    series.forEach(function (e) {
      e.x.forEach(function (x) { maxLoss = Math.max(maxLoss, x); if (x > 0) { minPositive = Math.min(minPositive, x); } });
    });
    var log = isFinite(minPositive) && maxLoss / minPositive >= 100;
    return {log: log, min: log ? minPositive / 1.5 : 0, max: maxLoss > 0 ? maxLoss * 1.1 : 1, maxLoss: maxLoss};
  }

  // The fund as a dashed vertical line where it falls inside the losses; otherwise named in the legend only.
  function fundLine(fund, minP, color, axis) {
    var inside = fund >= axis.min && fund <= axis.max;
    var label = "Fund " + money(fund) + (inside ? "" : fund > axis.max ? " (beyond the largest simulated loss, " + money(axis.maxLoss) + ")" : "");
    return {label: label, data: inside ? [{x: fund, y: minP}, {x: fund, y: 1}] : [], borderColor: color, backgroundColor: color,
      borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5, showLine: true};
  }

  function exceedanceScales(axis) {
    return {
      x: {type: axis.log ? "logarithmic" : "linear", min: axis.min, max: axis.max,
        title: {display: true, text: "bad debt x (quote)" + (axis.log ? ", log scale" : "")},
        ticks: {callback: function (value) { return money(Number(value)); }, maxTicksLimit: 8}},
      y: {type: "logarithmic", max: 1, title: {display: true, text: "P(bad debt > x)"}, ticks: {callback: percent}}
    };
  }

  // What a browser test (or a person with devtools) reads to know a chart was drawn with data.
  function drawn(target, chart) {
    var points = 0;
    chart.data.datasets.forEach(function (d) { points += d.data.length; });
    target.dataset.points = String(points);
    return chart;
  }

  function drawBalance() {
    var points = data("insurance-balance");
    var target = canvas("balance");
    if (!points || !target) return;
    drawn(target, new Chart(target, {type: "line", data: {labels: points.t.map(function (t) { return t.slice(0, 10); }),
      datasets: [{label: "Balance", data: points.balance.map(Number), borderColor: "#2f5bea", backgroundColor: "rgba(47,91,234,0.12)",
        fill: true, stepped: "after", pointRadius: 0}]},
      options: options({scales: {x: {ticks: {maxTicksLimit: 12, maxRotation: 0}}, y: {ticks: {callback: money}}},
        plugins: {legend: {display: false}}})}));
  }

  function drawTrend() {
    var points = data("insurance-trend");
    var target = canvas("trend");
    if (!points || !target) return;
    var labels = points.t.map(function (t, i) { return t.slice(0, 10) + " #" + points.run[i]; });
    function line(label, values, color, axis, dashed) {
      return {label: label, data: values, borderColor: color, backgroundColor: color, yAxisID: axis, pointRadius: 2,
        borderWidth: 2, borderDash: dashed ? [6, 4] : [], spanGaps: false};
    }
    drawn(target, new Chart(target, {type: "line", data: {labels: labels, datasets: [
      line("ES99 bad debt", points.es99, "#d94848", "money"),
      line("Required fund", points.required_fund, "#2f5bea", "money"),
      line("P(fund exhausted)", points.exhaustion_probability, "#c77700", "probability", true),
      line("Coverage ratio", points.coverage_ratio, "#0f9d6b", "ratio", true)
    ]}, options: options({scales: {
      x: {ticks: {maxTicksLimit: 12, maxRotation: 0}},
      money: {type: "linear", position: "left", beginAtZero: true, ticks: {callback: money}},
      probability: {type: "linear", position: "right", beginAtZero: true, grid: {drawOnChartArea: false}, ticks: {callback: percent}},
      ratio: {type: "linear", position: "right", beginAtZero: true, grid: {drawOnChartArea: false},
        ticks: {callback: function (value) { return value.toFixed(1) + "×"; }}}
    }})}));
  }

  function drawRun() {
    var metrics = data("insurance-metrics");
    if (!metrics) return;
    var fund = Number(data("insurance-fund"));
    var histogram = metrics.histogram;
    if (canvas("histogram") && histogram.counts.length) {
      var labels = histogram.counts.map(function (_, i) { return money((histogram.edges[i] + histogram.edges[i + 1]) / 2); });
      drawn(canvas("histogram"), new Chart(canvas("histogram"), {type: "bar", data: {labels: labels, datasets: [{label: "paths", data: histogram.counts,
        backgroundColor: "#d94848"}]}, options: options({plugins: {legend: {display: false}}})}));
    }
    var exceedance = metrics.exceedance;
    if (canvas("exceedance") && exceedance.x.length) {
      var minP = 1 / exceedance.paths;
      var axis = exceedanceAxis([exceedance]);
      drawn(canvas("exceedance"), new Chart(canvas("exceedance"), {type: "scatter", data: {datasets: [
        exceedanceDatasets(exceedance, "P(bad debt > x)", "#2f5bea"), fundLine(fund, minP, "#0f9d6b", axis)]},
        options: options({scales: exceedanceScales(axis)})}));
    }
    var bands = metrics.fund_quantiles;
    if (canvas("fund") && bands) {
      var hours = bands.hours.map(function (h) { return h.toFixed(1) + " h"; });
      var colors = ["rgba(217,72,72,0.15)", "rgba(217,72,72,0.25)", "rgba(47,91,234,0.25)"];
      var sets = [];
      var n = bands.values.length;
      for (var i = 0; i < n; i++) {
        var q = bands.quantiles[i];
        var inner = Math.min(i - 1, n - 1 - i);  // the band between this quantile and the one below
        sets.push({label: "q" + (q * 100).toFixed(0), data: bands.values[i], pointRadius: 0, borderWidth: q === 0.5 ? 2 : 1,
          borderColor: q === 0.5 ? "#1b2330" : "rgba(47,91,234,0.6)", backgroundColor: colors[Math.max(0, Math.min(inner, 2))],
          fill: i === 0 ? false : "-1"});
      }
      drawn(canvas("fund"), new Chart(canvas("fund"), {type: "line", data: {labels: hours, datasets: sets},
        options: options({scales: {y: {ticks: {callback: money}}}})}));
    }
    if (canvas("markets") && metrics.markets) {
      drawn(canvas("markets"), new Chart(canvas("markets"), {type: "bar", data: {labels: metrics.markets.map(function (m) { return m.symbol; }),
        datasets: [{label: "mean bad debt", data: metrics.markets.map(function (m) { return m.mean_bad_debt; }), backgroundColor: "#2f5bea"},
          {label: "mean over 1 % worst paths", data: metrics.markets.map(function (m) { return m.tail_bad_debt; }), backgroundColor: "#d94848"}]},
        options: options({scales: {y: {ticks: {callback: money}}}})}));
    }
  }

  function drawCompare() {
    var runs = data("insurance-compare");
    if (!runs || !canvas("compare") || !runs.length) return;
    var colors = ["#2f5bea", "#d94848"];
    var sets = [];
    var minP = 1;
    runs.forEach(function (run, i) {
      if (!run.exceedance.x.length) return;
      minP = Math.min(minP, 1 / run.exceedance.paths);
      sets.push(exceedanceDatasets(run.exceedance, run.label, colors[i]));
    });
    var axis = exceedanceAxis(runs.map(function (run) { return run.exceedance; }));
    runs.forEach(function (run, i) { sets.push(fundLine(run.fund, minP, colors[i], axis)); });
    drawn(canvas("compare"), new Chart(canvas("compare"), {type: "scatter", data: {datasets: sets}, options: options({scales: exceedanceScales(axis)})}));
  }

  function modelFields() {
    var form = document.querySelector("form[data-run-form]");
    if (!form) return;
    var select = form.querySelector("select[name=model]");
    function update() {
      form.querySelectorAll("[data-models]").forEach(function (field) {
        field.hidden = field.getAttribute("data-models").split(" ").indexOf(select.value) < 0;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    modelFields();
    if (typeof Chart === "undefined") return;
    drawBalance();
    drawTrend();
    drawRun();
    drawCompare();
  });
})();
