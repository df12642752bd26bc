/* Kizuki: the common failure paths as a left-to-right flow, drawn with cytoscape.js
 * (served locally). Each column is a step of the path, each node a cause concept, each
 * edge a transition as wide as the number of cases that take it. Labels are drawn on a
 * canvas, so the app's font is loaded for their characters first (as graph.js does). */
(function () {
  "use strict";

  var FONT = "Hiragino Sans, Noto Sans JP, Noto Sans CJK JP, IPAPGothic, IPAexGothic, " +
    "Yu Gothic, Meiryo, Kizuki Gothic, sans-serif";
  var COLUMN = 260, ROW = 54;

  function loadFont(text) {
    if (!document.fonts || !document.fonts.load) return Promise.resolve();
    return document.fonts.load('11px "Kizuki Gothic"', text).catch(function () {});
  }

  function draw(panel) {
    var flow = JSON.parse(panel.getAttribute("data-flow"));
    var en = panel.getAttribute("data-lang") === "en";
    var rows = {};
    var elements = flow.nodes.map(function (n) {
      var row = rows[n.column] = (rows[n.column] || 0) + 1;
      var label = (en ? n.label_en : n.label_ja) || n.label_ja;
      return {
        group: "nodes",
        data: {id: n.id, label: label, concept: n.concept},
        position: {x: n.column * COLUMN, y: row * ROW}
      };
    });
    var top = Math.max.apply(null, flow.edges.map(function (e) { return e.support; }).concat([1]));
    flow.edges.forEach(function (e) {
      elements.push({group: "edges", data: {
        id: e.source + ">" + e.target, source: e.source, target: e.target,
        support: e.support, width: 1.5 + 6 * e.support / top
      }});
    });
    var text = elements.map(function (el) { return el.data.label || ""; }).join("");
    return loadFont(text).then(function () {
      var cy = cytoscape({
        container: panel.querySelector(".paths-canvas"),
        elements: elements,
        layout: {name: "preset", fit: true, padding: 24},
        userZoomingEnabled: false,
        boxSelectionEnabled: false,
        style: [
          {selector: "node", style: {
            "shape": "round-rectangle", "width": 14, "height": 14,
            "background-color": "#c8553d", "label": "data(label)", "font-size": 11,
            "font-family": FONT, "color": "#1f2933", "text-valign": "bottom",
            "text-halign": "center", "text-wrap": "wrap", "text-max-width": 200,
            "min-zoomed-font-size": 6
          }},
          {selector: "edge", style: {
            "width": "data(width)", "line-color": "#e0a899", "target-arrow-color": "#e0a899",
            "target-arrow-shape": "triangle", "curve-style": "bezier", "opacity": 0.85,
            "label": "data(support)", "font-size": 10, "color": "#616e7c", "font-family": FONT
          }}
        ]
      });
      cy.on("tap", "node", function (ev) {
        window.location.href = "/ui/causes/" + encodeURIComponent(ev.target.data("concept")) +
          (en ? "?lang=en" : "");
      });
      panel._cy = cy;
      panel.setAttribute("data-drawn", String(cy.nodes().length));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof cytoscape === "undefined") return;
    Array.prototype.forEach.call(document.querySelectorAll(".paths-flow"), draw);
  });
})();
