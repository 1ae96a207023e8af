// The /kpi chart: Chart.js draws the company line from the canvas's data-* attributes (the
// CSP forbids inline scripts). The table above the chart is the accessible source of truth;
// without JavaScript the chart is simply absent. Redrawn after every HTMX swap of the panel.
(function () {
  "use strict";

  function read(canvas, name) {
    try { return JSON.parse(canvas.getAttribute("data-" + name) || "null"); } catch (e) { return null; }
  }

  function draw(root) {
    if (typeof window.Chart === "undefined") return;
    var canvases = (root || document).querySelectorAll("canvas[data-kpi-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      if (window.Chart.getChart(canvas)) return;
      var css = getComputedStyle(document.documentElement);
      var primary = css.getPropertyValue("--pico-primary").trim() || "#0172ad";
      var muted = css.getPropertyValue("--pico-muted-color").trim() || "#646b79";
      new window.Chart(canvas, {
        data: {
          labels: read(canvas, "labels") || [],
          datasets: [
            { type: "bar", label: canvas.dataset.currentLabel, data: read(canvas, "current") || [],
              backgroundColor: primary, order: 2 },
            { type: "line", label: canvas.dataset.previousLabel, data: read(canvas, "previous") || [],
              borderColor: muted, backgroundColor: muted, spanGaps: false, order: 1 }
          ]
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { legend: { position: "bottom" } }
        }
      });
    });
  }

  // Charts whose canvas an HTMX swap removed are destroyed, so none is kept in memory.
  function prune() {
    if (typeof window.Chart === "undefined") return;
    Object.keys(window.Chart.instances || {}).forEach(function (key) {
      var chart = window.Chart.instances[key];
      if (chart && !document.body.contains(chart.canvas)) chart.destroy();
    });
  }

  // Before HTMX keeps a copy of the page for the back button, the charts are taken down:
  // the copy would carry the canvas's inline style, which the CSP (style-src 'self') refuses.
  function release() {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-kpi-chart]").forEach(function (canvas) {
      var chart = window.Chart.getChart(canvas);
      if (chart) chart.destroy();
      canvas.removeAttribute("style");
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:beforeHistorySave", release);
  document.addEventListener("htmx:historyRestore", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { prune(); draw(evt.target); });
})();
