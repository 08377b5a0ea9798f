/* RiskGov proposal pages: the voting countdown and selects that submit their filter form on change.
   The server renders every time and figure; this only keeps the countdown ticking between requests. */
(function () {
  "use strict";

  const UNITS = [
    [86400, "d"],
    [3600, "h"],
    [60, "min"],
    [1, "s"],
  ];

  function remaining(seconds) {
    if (seconds <= 0) return "now";
    let left = Math.floor(seconds);
    const parts = [];
    for (const [size, unit] of UNITS) {
      if (left >= size || (parts.length && unit === "s")) {
        parts.push(Math.floor(left / size) + " " + unit);
        left %= size;
      }
    }
    return parts.slice(0, 3).join(" ");
  }

  // the server's clock decides when voting opens and closes: count from it, not from this computer's clock
  const loadedAt = Date.now();

  function serverNow(node) {
    const rendered = Number(node.dataset.serverNow) * 1000; // epoch seconds when the page was rendered
    return Number.isFinite(rendered) && rendered > 0 ? rendered + (Date.now() - loadedAt) : Date.now();
  }

  function tick() {
    for (const node of document.querySelectorAll("[data-countdown]")) {
      const target = Date.parse(node.dataset.countdown);
      if (Number.isNaN(target)) continue;
      const seconds = (target - serverNow(node)) / 1000;
      node.textContent = remaining(seconds);
      if (seconds <= 0 && !node.dataset.reloaded) {
        // the window opened or closed: the server says what the proposal is now (once per deadline, never a loop)
        node.dataset.reloaded = "1";
        const key = "riskgov.countdown." + window.location.pathname + node.dataset.countdown;
        if (window.sessionStorage.getItem(key)) {
          node.textContent = "now — reload the page to see the new state";
          continue;
        }
        window.sessionStorage.setItem(key, "1");
        node.textContent = "now — updating…";
        window.setTimeout(() => window.location.reload(), 1500);
      }
    }
  }

  function start() {
    if (document.querySelector("[data-countdown]")) {
      tick();
      window.setInterval(tick, 1000);
    }
    for (const select of document.querySelectorAll("select[data-autosubmit]")) {
      select.addEventListener("change", () => select.form && select.form.requestSubmit());
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
