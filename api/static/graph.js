/* Kizuki: draw the neighbourhood of a node with cytoscape.js (served locally).
 * Labels are drawn on a canvas and the info box is built with textContent, so node text
 * is never interpreted as HTML. */
(function () {
  "use strict";

  /* The labels are drawn on a canvas, which does not wait for web fonts: the app's font
   * (see kizuki.css) is loaded for the labels' characters before drawing. */
  var FONT = "Hiragino Sans, Noto Sans JP, Noto Sans CJK JP, IPAPGothic, IPAexGothic, " +
    "Yu Gothic, Meiryo, Kizuki Gothic, sans-serif";

  function loadFont(text) {
    if (!document.fonts || !document.fonts.load) return Promise.resolve();
    return document.fonts.load('10px "Kizuki Gothic"', text).catch(function () {});
  }

  var COLORS = {
    "case": "#1d3557",
    "cause": "#c8553d",
    "countermeasure": "#2a9d8f",
    "sector": "#8d99ae",
    "theme": "#d4a017"
  };
  var EDGE_COLORS = {
    "has_cause": "#c8553d",
    "adopted": "#2a9d8f",
    "mitigates": "#52b69a",
    "similar_to": "#5c7aa6",
    "in_sector": "#c9ced6",
    "in_theme": "#e5d29b",
    "broader": "#b0b7c3"
  };

  function pageUrl(id, type) {
    var e = encodeURIComponent(id);
    if (type === "case") return "/ui/cases/" + e;
    if (type === "cause") return "/ui/causes/" + e;
    if (type === "countermeasure") return "/ui/countermeasures/" + e;
    if (type === "sector") return "/ui/analytics?sector=" + e;
    if (type === "theme") return "/ui/analytics?theme=" + e;
    return "/";
  }

  /* Labels are cut at this many characters (the whole label shows on hover); the layout
   * counts each label's box as part of its node, so labels do not pile on each other. */
  var LABEL_CHARS = 22;
  /* Labels are 10 px and drawn down to 7 px ("min-zoomed-font-size"). */
  var READABLE_ZOOM = 0.75;

  function shorten(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function showInfo(panel, data) {
    var box = panel.querySelector(".graph-info");
    while (box.firstChild) box.removeChild(box.firstChild);
    var title = document.createElement("strong");
    title.textContent = data.fullLabel;
    var kind = document.createElement("span");
    kind.className = "graph-info-kind";
    var kindName = panel.dataset["kind" + data.type.charAt(0).toUpperCase() + data.type.slice(1)];
    kind.textContent = (kindName || data.type) + " · " + data.id;
    var link = document.createElement("a");
    link.href = pageUrl(data.id, data.type);
    link.textContent = (panel.dataset.open || "Open") + " →";
    box.appendChild(title);
    box.appendChild(kind);
    box.appendChild(link);
    box.hidden = false;
  }

  /* The message is the page's own wording (its language); the detail (an HTTP status or
   * the script's error) follows in brackets for whoever reports it. */
  function fail(panel, detail) {
    var canvas = panel.querySelector(".graph-canvas");
    canvas.textContent = (panel.dataset.failed || "The graph could not be drawn") + " (" + detail + ")";
    canvas.classList.add("graph-error");
    panel.dataset.ready = "error";
  }

  function draw(panel) {
    var center = panel.dataset.node;
    var depth = panel.dataset.depth || "1";
    var lang = panel.dataset.lang || "ja";
    if (typeof cytoscape !== "function") {
      fail(panel, "cytoscape.js");
      return;
    }
    fetch("/graph/neighbourhood/" + encodeURIComponent(center) + "?depth=" + encodeURIComponent(depth),
          {headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(String(r.status) + (body && body.error ? " " + body.error.code : ""));
          return body;
        });
      })
      .then(function (data) {
        var text = data.nodes.map(function (n) { return (n.label_ja || "") + (n.label_en || "") + n.id; }).join("");
        return loadFont(text).then(function () { return data; });
      })
      .then(function (data) {
        var elements = [];
        /* The same neighbourhood always lays out the same way: nodes and edges in id order,
           starting from seeded random places (the server's order is not stable). */
        var byId = function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; };
        var nodes = data.nodes.slice().sort(byId), side = 120 * Math.sqrt(nodes.length);
        var seed = 20261130;
        var rand = function () {  /* mulberry32: a seeded stand-in for cose's random start */
          seed = (seed + 0x6D2B79F5) | 0;
          var t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
          t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
          return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        };
        nodes.forEach(function (n) {
          var full = (lang === "en" ? (n.label_en || n.label_ja) : (n.label_ja || n.label_en)) || n.id;
          elements.push({
            group: "nodes",
            position: {x: side * rand(), y: side * rand()},
            data: {
              id: n.id, type: n.type, fullLabel: full,
              label: n.type === "case" ? n.id : shorten(full, LABEL_CHARS),
              center: n.id === data.center ? 1 : 0
            }
          });
        });
        data.edges.slice().sort(byId).forEach(function (e) {
          elements.push({group: "edges", data: {id: e.id, source: e.source, target: e.target, type: e.type}});
        });
        var cy = cytoscape({
          container: panel.querySelector(".graph-canvas"),
          elements: elements,
          minZoom: 0.2,
          maxZoom: 3,
          style: [
            {selector: "node", style: {
              "background-color": function (n) { return COLORS[n.data("type")] || "#777"; },
              "label": "data(label)", "font-size": 10, "color": "#1f2933",
              "text-valign": "bottom", "text-margin-y": 3, "width": 16, "height": 16,
              "text-wrap": "ellipsis", "text-max-width": 170, "min-zoomed-font-size": 7,
              "font-family": FONT
            }},
            {selector: "node[type = 'case']", style: {"shape": "round-rectangle", "width": 18, "height": 14}},
            {selector: "node[type = 'countermeasure']", style: {"shape": "diamond", "width": 18, "height": 18}},
            {selector: "node[type = 'sector'], node[type = 'theme']", style: {"shape": "hexagon", "width": 12, "height": 12, "font-size": 9, "color": "#616e7c"}},
            {selector: "node[center = 1]", style: {"width": 28, "height": 28, "border-width": 4, "border-color": "#ffd166", "font-weight": "bold", "font-size": 12}},
            {selector: "node:selected", style: {"border-width": 3, "border-color": "#ef476f"}},
            {selector: "edge", style: {
              "width": 1.4, "curve-style": "bezier", "opacity": 0.85,
              "line-color": function (e) { return EDGE_COLORS[e.data("type")] || "#ccc"; },
              "target-arrow-color": function (e) { return EDGE_COLORS[e.data("type")] || "#ccc"; },
              "target-arrow-shape": "triangle", "arrow-scale": 0.7
            }},
            {selector: "edge[type = 'mitigates']", style: {"line-style": "dashed", "width": 2}},
            {selector: "edge[type = 'similar_to']", style: {"line-style": "dotted", "width": 2}},
            {selector: "edge[type = 'in_sector'], edge[type = 'in_theme'], edge[type = 'broader']", style: {"width": 1, "target-arrow-shape": "none"}}
          ],
          layout: {name: "cose", animate: false, randomize: false,
                   nodeDimensionsIncludeLabels: true,
                   nodeRepulsion: function () { return 800000; },
                   idealEdgeLength: function () { return data.nodes.length > 40 ? 140 : 100; },
                   edgeElasticity: function () { return 60; },
                   nodeOverlap: 40, gravity: 0.6, padding: 24, numIter: 2500,
                   componentSpacing: 80}
        });
        /* The whole label on hover (canvas labels are cut to LABEL_CHARS). */
        var tip = panel.querySelector(".graph-tip");
        cy.on("mouseover", "node", function (evt) {
          if (!tip) return;
          var node = evt.target, pos = node.renderedPosition();
          tip.textContent = node.data("fullLabel");
          tip.style.left = Math.round(pos.x + 12) + "px";
          tip.style.top = Math.round(pos.y - 10) + "px";
          tip.hidden = false;
        });
        cy.on("mouseout", "node", function () { if (tip) tip.hidden = true; });
        cy.on("pan zoom", function () { if (tip) tip.hidden = true; });
        /* A small neighbourhood should not be blown up to fill the panel; a large one is not
         * shrunk below the size at which labels are drawn (READABLE_ZOOM): it opens on its
         * centre, and the rest is a drag or a scroll away. */
        if (cy.zoom() > 1.3) { cy.zoom(1.3); cy.center(); }
        if (cy.zoom() < READABLE_ZOOM) {
          cy.zoom({level: READABLE_ZOOM, renderedPosition: {x: cy.width() / 2, y: cy.height() / 2}});
          cy.center(cy.$id(data.center));
        }
        cy.on("tap", "node", function (evt) { showInfo(panel, evt.target.data()); });
        cy.on("dbltap", "node", function (evt) {
          var d = evt.target.data();
          window.location.href = "/ui/graph?node=" + encodeURIComponent(d.id) + "&depth=" + encodeURIComponent(depth);
        });
        panel.dataset.nodes = String(data.nodes.length);
        panel.dataset.edges = String(data.edges.length);
        panel.dataset.ready = "1";
        panel._cy = cy;
      })
      .catch(function (err) { fail(panel, String(err && err.message ? err.message : err)); });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".graph-panel"), draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
