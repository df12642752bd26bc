/* Kizuki: the trends chart of the analytics page, drawn with Chart.js (served locally).
 * The data is the page's JSON block (the same table as GET /analytics/trends); labels are
 * drawn on a canvas, which does not wait for web fonts, so the app's font is loaded for
 * the labels' characters first (see kizuki.css: a browser without a Japanese font still
 * shows Japanese). */
(function () {
  "use strict";

  var FONT = "Hiragino Sans, Noto Sans JP, Noto Sans CJK JP, IPAPGothic, IPAexGothic, " +
    "Yu Gothic, Meiryo, Kizuki Gothic, sans-serif";
  var COLORS = ["#c8553d", "#1d3557", "#2a9d8f", "#d4a017", "#6a4c93", "#e76f51",
                "#457b9d", "#8d99ae"];

  function loadFont(text) {
    if (!document.fonts || !document.fonts.load) return Promise.resolve();
    return document.fonts.load('12px "Kizuki Gothic"', text).catch(function () {});
  }

  function draw(canvas, data) {
    if (typeof Chart !== "function") {
      canvas.insertAdjacentText("afterend", "Chart.js could not be loaded.");
      return;
    }
    var datasets = data.series.map(function (s, k) {
      return {
        label: s.label,
        data: s.shares.map(function (v) { return Math.round(v * 1000) / 10; }),
        borderColor: COLORS[k % COLORS.length],
        backgroundColor: COLORS[k % COLORS.length],
        borderDash: s.every_edition ? [] : [5, 4],
        tension: 0
      };
    });
    Chart.defaults.font.family = FONT;
    var chart = new Chart(canvas, {
      type: "line",
      data: {labels: data.labels, datasets: datasets},
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: {position: "right", labels: {font: {family: FONT, size: 12}}},
          title: {display: true, text: data.title, font: {family: FONT, size: 13}},
          tooltip: {callbacks: {label: function (c) { return c.dataset.label + ": " + c.parsed.y + "%"; }}}
        },
        scales: {
          x: {ticks: {font: {family: FONT, size: 12}}},
          y: {beginAtZero: true, title: {display: true, text: data.y_title, font: {family: FONT}},
              ticks: {callback: function (v) { return v + "%"; }}}
        }
      }
    });
    canvas.dataset.drawn = "1";
    return chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var canvas = document.getElementById("trends-canvas");
    var block = document.getElementById("trends-data");
    if (!canvas || !block) return;
    var data = JSON.parse(block.textContent);
    var text = [data.title, data.y_title].concat(data.labels,
      data.series.map(function (s) { return s.label; })).join("");
    loadFont(text).then(function () { draw(canvas, data); });
  });
})();
