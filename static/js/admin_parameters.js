// Change-parameters page: flag a field's steward limit as soon as the typed value leaves the allowed range.
(function () {
  "use strict";
  function check(limit) {
    var input = document.getElementById("id_" + limit.dataset.field);
    if (!input) return;
    var value = parseFloat(input.value);
    var low = limit.dataset.low !== undefined ? parseFloat(limit.dataset.low) : -Infinity;
    var high = limit.dataset.high !== undefined ? parseFloat(limit.dataset.high) : Infinity;
    var broken = input.value.trim() !== "" && !isNaN(value) && (value < low || value > high);
    limit.classList.toggle("steward-limit-broken", broken);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".steward-limit[data-field]").forEach(function (limit) {
      var input = document.getElementById("id_" + limit.dataset.field);
      if (!input) return;
      input.addEventListener("input", function () { check(limit); });
      check(limit);
    });
  });
})();
