/* Run page: auto-deleveraging charts from the run's metrics (json_script "insurance-metrics"). */
(function () {
  "use strict";

  function money(value) {
    var abs = Math.abs(value);
    if (abs >= 1e9) return "$" + (value / 1e9).toFixed(2) + "B";
    if (abs >= 1e6) return "$" + (value / 1e6).toFixed(2) + "M";
    if (abs >= 1e3) return "$" + (value / 1e3).toFixed(1) + "K";
    return "$" + value.toFixed(value < 1 ? 2 : 0);
  }

  function canvas(name) {
    return document.querySelector('canvas[data-insurance-chart="' + name + '"]');
  }

  var options = {responsive: true, maintainAspectRatio: false, animation: false, plugins: {legend: {display: false}}};

  function bars(target, labels, counts, color, label) {
    new Chart(target, {type: "bar", data: {labels: labels, datasets: [{label: label, data: counts, backgroundColor: color}]},
      options: options});
  }

  document.addEventListener("DOMContentLoaded", function () {
    var element = document.getElementById("insurance-metrics");
    if (typeof Chart === "undefined" || !element) return;
    var adl = JSON.parse(element.textContent).adl;
    if (!adl) return;
    var notional = adl.notional_histogram;
    if (canvas("adl-notional") && notional.counts.length) {
      bars(canvas("adl-notional"), notional.counts.map(function (_, i) {
        return money((notional.edges[i] + notional.edges[i + 1]) / 2);
      }), notional.counts, "#c77700", "paths");
    }
    var haircut = adl.haircut_per_account;
    if (canvas("adl-haircut") && haircut.accounts) {
      // bin 0 is below the first edge, the last bin above the last one; show only the occupied range
      var first = haircut.counts.findIndex(function (c) { return c > 0; });
      var last = haircut.counts.length - 1 - haircut.counts.slice().reverse().findIndex(function (c) { return c > 0; });
      var labels = [];
      for (var i = first; i <= last; i++) {
        labels.push(i === 0 ? "< " + money(haircut.edges[0]) : i > haircut.edges.length - 1 ? "≥ " + money(haircut.edges[i - 1])
          : money(haircut.edges[i - 1]) + "–" + money(haircut.edges[i]));
      }
      bars(canvas("adl-haircut"), labels, haircut.counts.slice(first, last + 1), "#d94848", "accounts");
    }
  });
})();
