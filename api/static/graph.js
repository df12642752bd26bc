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

  /* The layout groups nodes by kind in columns (the centre alone in its own), like Kumu's
   * or Bloom's clustered views: every label sits to the right of its node, is cut to its
   * column's width (the whole label shows on hover) and gets a row of its own, so no two
   * labels ever overlap and edges pass under them. The frame grows to hold every row at a
   * readable size (FONT_PX, never scaled down) instead of shrinking the labels. */
  var FONT_PX = 12;
  var ROW_PX = 24;            /* a row: a 16 px label box and a gap */
  var PAD = 18;               /* the frame's margin */
  var MIN_COLUMN = 190;       /* the narrowest column: a node and a label of ~14 characters */
  var MAX_LABEL = 230;        /* labels are cut at this width even in wide columns */
  var MAX_GAP = 84;           /* a short column is spread over the frame, up to this spacing */
  var KIND_ORDER = ["cause", "countermeasure", "case", "sector", "theme"];
  var LEFT_OF_CENTRE = 1;     /* groups drawn left of the centre: causes */

  var measureCtx = null;
  function textWidth(text, px) {
    if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
    measureCtx.font = px + "px " + FONT;
    return measureCtx.measureText(text).width;
  }

  /* ``text`` cut to fit ``width`` px, with "…" when cut. */
  function fitLabel(text, width, px) {
    if (textWidth(text, px) <= width) return text;
    var lo = 0, hi = text.length;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (textWidth(text.slice(0, mid) + "…", px) <= width) lo = mid; else hi = mid - 1;
    }
    return text.slice(0, lo).replace(/\s+$/, "") + "…";
  }

  /* ``text`` broken into lines of at most ``width`` px (Japanese has no spaces to break
   * at, so lines break at any character), the last cut with "…" beyond ``maxLines``. */
  function wrapLabel(text, width, px, maxLines) {
    var lines = [], rest = text;
    while (rest && lines.length < maxLines - 1 && textWidth(rest, px) > width) {
      var n = 1;
      while (n < rest.length && textWidth(rest.slice(0, n + 1), px) <= width) n++;
      var space = rest.lastIndexOf(" ", n);
      if (space > n / 2 && /^[\x00-\x7f]*$/.test(rest.slice(0, n))) n = space + 1;
      lines.push(rest.slice(0, n).trim());
      rest = rest.slice(n).trim();
    }
    if (rest) lines.push(fitLabel(rest, width, px));
    return lines.join("\n");
  }

  /* Hops from the centre, over edges in either direction. */
  function hops(cy, centre) {
    var dist = {}, queue = [centre];
    dist[centre] = 0;
    while (queue.length) {
      var id = queue.shift();
      cy.$id(id).neighborhood("node").forEach(function (n) {
        if (dist[n.id()] === undefined) { dist[n.id()] = dist[id] + 1; queue.push(n.id()); }
      });
    }
    return dist;
  }

  /* Place every node (positions in rendered pixels at zoom 1) and size the frame. */
  function arrange(cy, panel, centre, baseHeight) {
    var canvas = panel.querySelector(".graph-canvas");
    var width = canvas.clientWidth || 600;
    var dist = hops(cy, centre);
    var groups = KIND_ORDER.map(function () { return []; });
    cy.nodes().forEach(function (n) {
      if (n.id() === centre) return;
      var k = KIND_ORDER.indexOf(n.data("type"));
      groups[k < 0 ? KIND_ORDER.length - 1 : Math.min(k, 3)].push(n);
    });
    groups.forEach(function (g) {
      g.sort(function (a, b) {
        var da = dist[a.id()] || 9, db = dist[b.id()] || 9;
        if (da !== db) return da - db;
        return a.data("fullLabel") < b.data("fullLabel") ? -1 : a.data("fullLabel") > b.data("fullLabel") ? 1 : 0;
      });
    });
    groups = groups.filter(function (g) { return g.length; });
    var slots = Math.max(1, Math.floor((width - 2 * PAD) / MIN_COLUMN));
    var fitRows = Math.max(1, Math.floor((baseHeight - 2 * PAD) / ROW_PX));
    var most = Math.max.apply(null, groups.map(function (g) { return g.length; }).concat([1]));
    var rows = fitRows, columns;
    var count = function (r) {
      return 1 + groups.reduce(function (s, g) { return s + Math.ceil(g.length / r); }, 0);
    };
    while (count(rows) > slots && rows < most) rows++;
    if (count(rows) <= slots) {
      /* one or more columns per kind; the centre's column between causes and the rest */
      columns = [];
      groups.forEach(function (g) {
        var per = Math.ceil(g.length / Math.ceil(g.length / rows));  /* balanced columns */
        for (var i = 0; i < g.length; i += per) columns.push({items: g.slice(i, i + per), spread: true});
      });
      var at = 0;
      while (at < columns.length && columns[at].items[0].data("type") === KIND_ORDER[0] && LEFT_OF_CENTRE) at++;
      columns.splice(at, 0, {items: [cy.$id(centre)], spread: true, centre: true});
    } else {
      /* too narrow for a column per kind (a phone): one list, kind after kind, the centre
       * first with three rows (empty ones around it) for its whole label */
      var all = [null, cy.$id(centre), null];
      groups.forEach(function (g) { all = all.concat(g); });
      rows = Math.ceil(all.length / slots);
      columns = [];
      for (var j = 0; j < all.length; j += rows) columns.push({items: all.slice(j, j + rows), spread: false});
    }
    var centreLines = 3;
    var height = Math.max(baseHeight, rows * ROW_PX + 2 * PAD, centreLines * 18 + 2 * PAD);
    canvas.style.height = height + "px";
    cy.resize();
    var colWidth = (width - 2 * PAD) / columns.length;
    var labelWidth = Math.min(MAX_LABEL, colWidth - 30);
    columns.forEach(function (col, ci) {
      var x = PAD + ci * colWidth + 10;
      var gap = col.spread ? Math.min(MAX_GAP, (height - 2 * PAD) / col.items.length) : ROW_PX;
      var top = col.spread ? (height - gap * col.items.length) / 2 : PAD;
      col.items.forEach(function (n, i) {
        if (!n) return;
        var full = n.data("fullLabel");
        n.data("label", n.id() === centre ? wrapLabel(full, labelWidth, FONT_PX + 1, centreLines)
                                          : fitLabel(full, labelWidth, FONT_PX));
        n.data("far", (dist[n.id()] || 9) > 1 ? 1 : 0);
        n.position({x: x, y: top + gap * (i + 0.5)});
      });
    });
    cy.zoom(1);
    cy.pan({x: 0, y: 0});
  }

  /* The info box of a tapped node: its whole label, kind and id, a link to its page and
   * (unless it is already expanded) a button that adds its own neighbours to the view. */
  function showInfo(panel, data, expand) {
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
    if (!data.expanded) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "graph-expand btn-secondary";
      button.textContent = panel.dataset.expand || "Expand";
      button.addEventListener("click", function () { button.disabled = true; expand(data.id); });
      box.appendChild(button);
    }
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

  function fetchNeighbourhood(id, depth) {
    return fetch("/graph/neighbourhood/" + encodeURIComponent(id) + "?depth=" + encodeURIComponent(depth),
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
      });
  }

  /* The neighbourhood's nodes and edges that ``cy`` lacks, in id order (the server's order
   * is not stable, and the same neighbourhood always lays out the same way). */
  function newElements(cy, data, lang) {
    var byId = function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; };
    var elements = [];
    data.nodes.slice().sort(byId).forEach(function (n) {
      if (cy && cy.$id(n.id).length) return;
      /* A case's title exists only in Japanese (its label_en is its id). */
      var full = n.type === "case" ? (lang === "en" ? n.id + " " : "") + (n.label_ja || "") :
        (lang === "en" ? (n.label_en || n.label_ja) : (n.label_ja || n.label_en));
      full = full || n.id;
      elements.push({group: "nodes", position: {x: 40 * elements.length, y: 0}, data: {
        id: n.id, type: n.type, fullLabel: full, label: full,
        center: n.id === data.center ? 1 : 0, far: 0
      }});
    });
    data.edges.slice().sort(byId).forEach(function (e) {
      if (cy && cy.$id(e.id).length) return;
      elements.push({group: "edges", data: {id: e.id, source: e.source, target: e.target, type: e.type}});
    });
    return elements;
  }

  var STYLE = [
    {selector: "node", style: {
      "background-color": function (n) { return COLORS[n.data("type")] || "#777"; },
      "label": "data(label)", "font-size": FONT_PX, "color": "#1f2933",
      "text-halign": "right", "text-valign": "center", "text-margin-x": 5,
      "text-wrap": "wrap", "text-max-width": 1000, "text-justification": "left",
      "text-background-color": "#fbfcfd", "text-background-opacity": 0.92,
      "text-background-padding": 1, "text-background-shape": "roundrectangle",
      "width": 14, "height": 14, "font-family": FONT
    }},
    {selector: "node[far = 1]", style: {"width": 11, "height": 11, "color": "#52606d"}},
    {selector: "node[type = 'case']", style: {"shape": "round-rectangle"}},
    {selector: "node[type = 'countermeasure']", style: {"shape": "diamond"}},
    {selector: "node[type = 'sector'], node[type = 'theme']", style: {"shape": "hexagon", "color": "#616e7c"}},
    {selector: "node[center = 1]", style: {"width": 22, "height": 22, "border-width": 4, "border-color": "#ffd166", "font-weight": "bold", "font-size": FONT_PX + 1}},
    {selector: "node:selected", style: {"border-width": 3, "border-color": "#ef476f"}},
    {selector: "edge", style: {
      "width": 1.2, "curve-style": "bezier", "opacity": 0.45,
      "line-color": function (e) { return EDGE_COLORS[e.data("type")] || "#ccc"; },
      "target-arrow-color": function (e) { return EDGE_COLORS[e.data("type")] || "#ccc"; },
      "target-arrow-shape": "triangle", "arrow-scale": 0.6
    }},
    {selector: "edge[type = 'mitigates']", style: {"line-style": "dashed", "width": 1.6}},
    {selector: "edge[type = 'similar_to']", style: {"line-style": "dotted", "width": 1.6}},
    {selector: "edge[type = 'in_sector'], edge[type = 'in_theme'], edge[type = 'broader']", style: {"width": 1, "target-arrow-shape": "none", "opacity": 0.3}},
    {selector: "edge.lit", style: {"opacity": 1, "width": 2.2, "z-index": 9}},
    {selector: "node.dim", style: {"opacity": 0.35}}
  ];

  function draw(panel) {
    var center = panel.dataset.node;
    var depth = panel.dataset.depth || "1";
    var lang = panel.dataset.lang || "ja";
    if (typeof cytoscape !== "function") {
      fail(panel, "cytoscape.js");
      return;
    }
    var canvas = panel.querySelector(".graph-canvas");
    var baseHeight = canvas.clientHeight || 380;
    fetchNeighbourhood(center, depth)
      .then(function (data) {
        var cy = cytoscape({
          container: canvas,
          elements: newElements(null, data, lang),
          minZoom: 0.2,
          maxZoom: 3,
          style: STYLE,
          layout: {name: "preset"}
        });
        arrange(cy, panel, center, baseHeight);
        var ready = function () {
          panel.dataset.nodes = String(cy.nodes().length);
          panel.dataset.edges = String(cy.edges().length);
          panel.dataset.ready = "1";
        };
        /* Expand on demand: a node's own neighbours join the view, laid out again. */
        var expand = function (id) {
          panel.dataset.ready = "expanding";
          return fetchNeighbourhood(id, 1).then(function (more) {
            cy.add(newElements(cy, more, lang));
            cy.$id(id).data("expanded", 1);
            arrange(cy, panel, center, baseHeight);
            panel.querySelector(".graph-info").hidden = true;
            ready();
          }).catch(function (err) { fail(panel, String(err && err.message ? err.message : err)); });
        };
        cy.$id(center).data("expanded", 1);
        /* The whole label on hover, the node's edges and neighbours lit, the rest dimmed. */
        var tip = panel.querySelector(".graph-tip");
        cy.on("mouseover", "node", function (evt) {
          var node = evt.target, pos = node.renderedPosition();
          cy.nodes().not(node.closedNeighborhood()).addClass("dim");
          node.connectedEdges().addClass("lit");
          if (!tip) return;
          tip.textContent = node.data("fullLabel");
          tip.style.left = Math.round(pos.x + 12) + "px";
          tip.style.top = Math.round(pos.y - 10) + "px";
          tip.hidden = false;
        });
        cy.on("mouseout", "node", function () {
          cy.elements().removeClass("dim lit");
          if (tip) tip.hidden = true;
        });
        cy.on("pan zoom", function () { if (tip) tip.hidden = true; });
        cy.on("tap", "node", function (evt) { showInfo(panel, evt.target.data(), expand); });
        cy.on("dbltap", "node", function (evt) {
          var d = evt.target.data();
          window.location.href = "/ui/graph?node=" + encodeURIComponent(d.id) + "&depth=" + encodeURIComponent(depth);
        });
        panel._cy = cy;
        panel._expand = expand;
        ready();
      })
      .catch(function (err) { fail(panel, String(err && err.message ? err.message : err)); });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".graph-panel"), draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
