"""report.py — one self-contained HTML page about a heap (`remora export
--format=html`): its size, the default partition, a treemap of the
dominator tree's top (who retains what), the biggest retainers with the
shortest path to each, and who refers to the largest kinds (byrcs).

Invariants:
  1. The page needs nothing but itself: no network, no library; its
     script draws the treemap (squarified) from the data embedded in it.
  2. Every figure on the page is the engine's (the partition's rows, the
     dominator tree's retained sizes, views' names and path texts);
     heapy's tables are printed as heapy prints them.
"""

import html
import json

from . import engine, views

TOP_KINDS = 30
TOP_TREE = 40          # R's children in the treemap
TOP_CHILDREN = 12      # each one's own, nested
TOP_RETAINERS = 25
BYRCS_ROWS = 3


def _node(snap, node):
    return {"name": views.object_name(snap, node), "retained": snap.node_retained(node),
            "size": snap.node_size(node), "address": "0x%x" % snap.node_address(node)}


def data(heap):
    """What the page shows, as JSON-able data."""
    handle = heap._handle
    snap = handle.snapshot
    snap.dominators()
    part = handle.partition(engine.BY_CLODO)
    kinds = [{"label": label, "count": count, "size": size}
             for label, count, size in part.rows()[:TOP_KINDS]]
    tree = []
    for node in snap.dominated(None).top_retained(TOP_TREE):
        item = _node(snap, node)
        item["children"] = [_node(snap, c) for c in snap.dominated(node).top_retained(TOP_CHILDREN)]
        tree.append(item)
    retainers = []
    for node in handle.top_retained(TOP_RETAINERS):
        item = _node(snap, node)
        paths, _truncated = snap.from_ids([node]).paths(1)
        item["path"] = (views.path_text(snap, "hp.Root", *paths[0]) if paths else
                        "(no path from the roots)")
        retainers.append(item)
    byrcs = []
    for i in range(min(BYRCS_ROWS, part.num_rows)):
        label = part.row(i)[0]
        byrcs.append({"label": label, "text": repr(heap[i].byrcs)})
    return {"file": snap.path, "python": "%d.%d.%d" % (snap.python_version >> 24,
                                                        (snap.python_version >> 16) & 0xFF,
                                                        (snap.python_version >> 8) & 0xFF),
            "objects": snap.node_count, "size": snap.total_size, "edges": snap.edge_count,
            "partial": bool(snap.partial),
            "kinds": kinds, "tree": tree, "retainers": retainers, "byrcs": byrcs}


def page(heap):
    """The HTML text."""
    d = data(heap)
    # the JSON goes inside <script>: no "</" may close it early
    blob = json.dumps(d).replace("</", "<\\/")
    return PAGE.replace("@TITLE@", html.escape("remora: %s" % d["file"])).replace(
        "@DATA@", blob)


PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>@TITLE@</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em 2em; color: #1b1b1b; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.15em; margin: 1.6em 0 .5em; }
.sub { color: #555; } .warn { color: #a40; font-weight: bold; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #f4f4f4; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 12px; }
#treemap { width: 100%; max-width: 1100px; height: 520px; border: 1px solid #ccc; }
#treemap text { font-size: 11px; pointer-events: none; }
#detail { min-height: 2.5em; margin: .4em 0; font-family: monospace; font-size: 12px; }
code { font-size: 12px; }
</style></head>
<body>
<h1>remora heap report</h1>
<div class="sub" id="summary"></div>
<h2>Who retains what (dominator tree)</h2>
<div class="sub">Each box is an object the roots hold directly or through
objects shared with others, sized by what it alone keeps alive; inside it,
the largest of what it keeps. Click a box for its name and size.</div>
<svg id="treemap" role="img" aria-label="treemap of retained sizes"></svg>
<div id="detail"></div>
<h2>Biggest retainers, and the shortest path to each</h2>
<table id="retainers"><thead><tr><th class="n">Retained</th><th class="n">%</th>
<th class="n">Size</th><th>What</th><th>Shortest path from the roots</th></tr></thead>
<tbody></tbody></table>
<h2>The heap by kind (heapy's default partition)</h2>
<table id="kinds"><thead><tr><th class="n">Index</th><th class="n">Count</th>
<th class="n">%</th><th class="n">Size</th><th class="n">%</th><th>Kind</th></tr></thead>
<tbody></tbody></table>
<h2>Who refers to the largest kinds (byrcs)</h2>
<div id="byrcs"></div>
<script id="data" type="application/json">@DATA@</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const fmt = n => n.toLocaleString("en-US");
const pct = (a, b) => b ? Math.round(100 * a / b) : 0;
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function summary() {
  const s = document.getElementById("summary");
  s.append("CPython " + D.python + ", ", el("span", {id: "objects"}, fmt(D.objects)),
           " objects, ", el("span", {id: "size"}, fmt(D.size)), " bytes, ",
           fmt(D.edges) + " references; from " + D.file);
  if (D.partial) {
    s.append(el("div", {class: "warn", id: "partial"},
                "partial snapshot: some of the process's memory could not be read"));
  }
}
function rows(id, items, cells) {
  const body = document.querySelector("#" + id + " tbody");
  items.forEach((it, i) => {
    const tr = el("tr", cells.attrs ? cells.attrs(it) : {});
    for (const c of cells.cols(it, i)) {
      tr.append(el("td", c[1] ? {class: "n"} : {}, c[0]));
    }
    body.append(tr);
  });
}
// squarified treemap (Bruls, Huizing, van Wijk): lays items (value > 0)
// out in rectangle r, row by row along its shorter side
function squarify(items, r) {
  const out = [], total = items.reduce((a, b) => a + b.value, 0);
  if (!total || r.w <= 0 || r.h <= 0) return out;
  const scale = r.w * r.h / total;
  let rest = items.map(it => ({it: it, a: it.value * scale})), x = r.x, y = r.y, w = r.w, h = r.h;
  const worst = (row, side) => {
    const s = row.reduce((a, b) => a + b.a, 0);
    let m = 0;
    for (const q of row) m = Math.max(m, side * side * q.a / (s * s), s * s / (side * side * q.a));
    return m;
  };
  while (rest.length) {
    const side = Math.min(w, h);
    let row = [rest[0]], i = 1;
    while (i < rest.length && worst(row.concat([rest[i]]), side) <= worst(row, side)) {
      row.push(rest[i]); i++;
    }
    rest = rest.slice(i);
    const s = row.reduce((a, b) => a + b.a, 0), thick = s / side;
    let off = 0;
    for (const q of row) {
      const len = q.a / thick;
      out.push(w >= h ? {it: q.it, x: x, y: y + off, w: thick, h: len}
                      : {it: q.it, x: x + off, y: y, w: len, h: thick});
      off += len;
    }
    if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
  }
  return out;
}
const COLORS = ["#8fb8de", "#f2b880", "#a8d5a2", "#e8a0a8", "#c5b3e6", "#f0d58c", "#9ed8d8",
                "#d9b38c"];
function treemap() {
  const svg = document.getElementById("treemap"), NS = "http://www.w3.org/2000/svg";
  const W = svg.clientWidth || 1100, H = svg.clientHeight || 520;
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  const detail = document.getElementById("detail");
  const items = D.tree.filter(t => t.retained > 0).map(t => ({value: t.retained, t: t}));
  squarify(items, {x: 0, y: 0, w: W, h: H}).forEach((b, i) => {
    const g = document.createElementNS(NS, "g");
    const box = (x, y, w, h, fill, node) => {
      const rect = document.createElementNS(NS, "rect");
      rect.setAttribute("x", x); rect.setAttribute("y", y);
      rect.setAttribute("width", Math.max(0, w)); rect.setAttribute("height", Math.max(0, h));
      rect.setAttribute("fill", fill); rect.setAttribute("stroke", "#fff");
      rect.setAttribute("data-address", node.address);
      rect.setAttribute("data-retained", node.retained);
      rect.addEventListener("click", ev => {
        ev.stopPropagation();
        detail.textContent = node.name + " — retains " + fmt(node.retained) + " bytes (" +
          pct(node.retained, D.size) + "%), itself " + fmt(node.size) + " bytes, at " +
          node.address;
      });
      const title = document.createElementNS(NS, "title");
      title.textContent = node.name + ": " + fmt(node.retained) + " bytes";
      rect.append(title);
      g.append(rect);
    };
    const color = COLORS[i % COLORS.length];
    box(b.x, b.y, b.w, b.h, color, b.it.t);
    const pad = 16;
    const inner = b.it.t.children.filter(c => c.retained > 0).map(c => ({value: c.retained, c: c}));
    const scale = b.it.t.retained ? 1 : 0;
    if (scale && b.w > 40 && b.h > 40) {
      const used = inner.reduce((a, q) => a + q.value, 0);
      const frac = Math.min(1, used / b.it.t.retained);
      const area = {x: b.x + 2, y: b.y + pad, w: b.w - 4, h: (b.h - pad - 2) * frac};
      squarify(inner, area).forEach(c => box(c.x, c.y, c.w, c.h, "rgba(255,255,255,.35)", c.it.c));
    }
    if (b.w > 60 && b.h > 14) {
      const t = document.createElementNS(NS, "text");
      t.setAttribute("x", b.x + 3); t.setAttribute("y", b.y + 12);
      const label = b.it.t.name + " " + pct(b.it.t.retained, D.size) + "%";
      t.textContent = label.length * 6.2 > b.w ? label.slice(0, Math.max(1, b.w / 6.2 - 1)) + "…"
                                              : label;
      g.append(t);
    }
    svg.append(g);
  });
}
summary();
treemap();
rows("retainers", D.retainers, {
  attrs: r => ({class: "retainer", "data-address": r.address, "data-retained": r.retained}),
  cols: r => [[fmt(r.retained), 1], [pct(r.retained, D.size), 1], [fmt(r.size), 1],
              [r.name], [r.path]]});
rows("kinds", D.kinds, {
  attrs: k => ({class: "kind", "data-count": k.count, "data-size": k.size}),
  cols: (k, i) => [[i, 1], [fmt(k.count), 1], [pct(k.count, D.objects), 1], [fmt(k.size), 1],
                   [pct(k.size, D.size), 1], [k.label]]});
const byrcs = document.getElementById("byrcs");
for (const b of D.byrcs) {
  byrcs.append(el("div", {}, "Referrers of " + b.label + ":"), el("pre", {}, b.text));
}
document.body.setAttribute("data-ready", "1");
</script>
</body></html>
"""
