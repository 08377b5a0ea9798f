/* Builds Chart.js charts from JSON embedded with Django's json_script.
 *
 * Markup: <canvas data-chart="ID"></canvas> and <script type="application/json" id="ID">{...}</script>
 * Payload: {type: "bar"|"line", labels: [...], datasets: [{label, data, color?, marker?}], format: "usd"|"pct"|"count"|"price",
 *           stepped?: bool, x_title?: str, y_title?: str, y_scale?: "log",
 *           t?: [epoch ms per label], now?: epoch ms, ranges?: [{label, seconds}], range?: label}
 * A payload with `t` is drawn on a time axis with buttons for its ranges; the caption under it says which
 * span the data covers. A dataset with `marker` is drawn as a short dash per category (e.g. an OI cap).
 * With y_scale "log" zero values are left out (a log axis has no zero).
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

  var DAY = 86400;

  function timeTick(ms, seconds) {
    var date = new Date(ms);
    if (seconds <= 2 * DAY) { return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
    return date.toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function timeFull(ms) {
    return new Date(ms).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function rangeSeconds(spec, label) {
    var found = (spec.ranges || []).filter(function (r) { return r.label === label; })[0];
    return found ? found.seconds : null;
  }

  // Points of a timed payload inside [now - seconds, now], per dataset.
  function timedData(spec, seconds) {
    var start = spec.now - seconds * 1000;
    return spec.datasets.map(function (d) {
      var points = [];
      spec.t.forEach(function (t, i) { if (t >= start && t <= spec.now) { points.push({ x: t, y: d.data[i] }); } });
      return points;
    });
  }

  function caption(spec, seconds, element) {
    var start = spec.now - seconds * 1000;
    var inside = spec.t.filter(function (t) { return t >= start; });
    var label = (spec.ranges.filter(function (r) { return r.seconds === seconds; })[0] || {}).label || "";
    if (!inside.length) {
      element.textContent = "No data in the last " + label + (spec.t.length ? "; the latest is from " + timeFull(spec.t[spec.t.length - 1]) + "." : ".");
    } else if (inside[0] > start + 0.02 * seconds * 1000) {
      element.textContent = "Last " + label + ": data only from " + timeFull(inside[0]) + " (" + inside.length + " points).";
    } else {
      element.textContent = "Last " + label + " (" + inside.length + " points).";
    }
  }

  function rangeButtons(canvas, spec, chart, seconds) {
    var card = canvas.closest(".card");
    var head = card && card.querySelector(".card-head");
    var box = canvas.closest(".chart-box");
    if (!head || !box) { return; }
    var note = document.createElement("p");
    note.className = "chart-caption muted small";
    note.setAttribute("aria-live", "polite");
    box.insertAdjacentElement("afterend", note);
    var group = document.createElement("div");
    group.className = "chart-ranges";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Time range");
    spec.ranges.forEach(function (r) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = r.label;
      button.dataset.seconds = String(r.seconds);
      button.setAttribute("aria-pressed", r.seconds === seconds ? "true" : "false");
      button.addEventListener("click", function () {
        group.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
        var data = timedData(spec, r.seconds);
        chart.data.datasets.forEach(function (dataset, i) { dataset.data = data[i]; dataset.pointRadius = data[i].length > 60 ? 0 : 2; });
        chart.options.scales.x.min = spec.now - r.seconds * 1000;
        chart.options.scales.x.ticks.callback = function (v) { return timeTick(v, r.seconds); };
        chart.update();
        canvas.dataset.range = r.label;
        caption(spec, r.seconds, note);
      });
      group.appendChild(button);
    });
    head.appendChild(group);
    canvas.dataset.range = spec.range;
    caption(spec, seconds, note);
  }

  function build(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || canvas.dataset.built) { return; }
    var spec = JSON.parse(source.textContent);
    var format = FORMATS[spec.format] || FORMATS.count;
    var isLine = spec.type === "line";
    var timed = isLine && Array.isArray(spec.t) && spec.ranges && spec.ranges.length;
    var seconds = timed ? (rangeSeconds(spec, spec.range) || spec.ranges[spec.ranges.length - 1].seconds) : null;
    var points = timed ? timedData(spec, seconds) : null;
    function largest(sets) {
      return Math.max.apply(null, [0].concat(sets.map(function (d) { return Math.max.apply(null, [0].concat(d.data.filter(function (v) { return v > 0; }))); })));
    }
    var markers = spec.datasets.filter(function (d) { return d.marker; });
    var bars = spec.datasets.filter(function (d) { return !d.marker; });
    // A marker far above the bars (an OI cap 100x the open interest) would flatten them: use a log axis then.
    var markerAbove = markers.length && largest(bars) > 0 && largest(markers) / largest(bars) > 20;
    var logY = (spec.y_scale === "log" || markerAbove) && largest(spec.datasets) > 0;
    var datasets = spec.datasets.map(function (d, i) {
      var color = PALETTE[d.color] || SERIES[i % SERIES.length];
      if (d.marker) {
        return {
          type: "line", label: d.label, data: d.data, showLine: false, borderColor: color, backgroundColor: color,
          pointStyle: "line", pointRadius: 16, pointHoverRadius: 18, pointBorderWidth: 3, pointHoverBorderWidth: 3,
          order: -1,
        };
      }
      var data = points ? points[i] : (logY ? d.data.map(function (v) { return v > 0 ? v : null; }) : d.data);
      return {
        label: d.label,
        data: data,
        borderColor: color,
        backgroundColor: isLine ? withAlpha(color, 0.12) : withAlpha(color, 0.8),
        borderWidth: isLine ? 2 : 0,
        borderRadius: isLine ? 0 : 3,
        pointRadius: isLine && data.length > 60 ? 0 : 2,
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
    var xScale = {
      grid: { display: false },
      ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 16 },
      title: { display: !!spec.x_title, text: spec.x_title || "" },
    };
    if (timed) {
      xScale.type = "linear";
      xScale.min = spec.now - seconds * 1000;
      xScale.max = spec.now;
      xScale.ticks.maxTicksLimit = 8;
      xScale.ticks.callback = function (v) { return timeTick(v, seconds); };
    }
    var chart = new window.Chart(canvas, {
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
              title: function (items) {
                if (timed && items.length) { return timeFull(items[0].parsed.x); }
                return items.length ? items[0].label : "";
              },
              label: function (ctx) {
                return ctx.parsed.y === null ? null : " " + ctx.dataset.label + ": " + format(ctx.parsed.y);
              },
            },
          },
        },
        scales: {
          x: xScale,
          y: {
            type: logY ? "logarithmic" : "linear",
            beginAtZero: spec.format !== "price" && !logY,
            grid: { color: "#eef1f5" },
            ticks: { callback: function (v) { return format(v); } },
            title: { display: !!spec.y_title || markerAbove, text: spec.y_title || (markerAbove ? "log scale" : "") },
          },
        },
      },
    });
    if (timed) { rangeButtons(canvas, spec, chart, seconds); }
    canvas.dataset.points = String(datasets.reduce(function (n, d) { return n + d.data.filter(function (v) { return v !== null; }).length; }, 0));
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
