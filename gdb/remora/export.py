"""export.py — a heap written out for other tools (`remora export`,
`h.export(FILE, FORMAT)`): Chrome DevTools' .heapsnapshot and SQLite are
written by libremora (src/export.c) with the objects views.object_name
names in words; Graphviz's .dot is drawn here from the shortest paths to
a set and its referrers; the HTML page is report.py's.

Invariants:
  1. Every format says what remora says: sizes, retained sizes, via
     labels and names are the engine's and views.object_name's.
  2. An output file appears only when complete.
"""

import os
import time

from . import engine, views
from .errors import RemoraError

FORMATS = ("heapsnapshot", "sqlite", "dot", "html")
_C_FORMATS = {"heapsnapshot": engine.EXPORT_HEAPSNAPSHOT, "sqlite": engine.EXPORT_SQLITE}

# the kinds views.object_name names by more than their kind
_NAMED_KINDS = ("dict of module", "type", "function", "method", "types.MethodType",
                "types.FrameType", "frame", "types.CodeType", "code")


def named_objects(snap, idset):
    """{id: name} of the members of idset whose kind object_name names
    in words (module dicts, classes, functions, methods, frames, code)."""
    part = idset.partition(engine.BY_CLODO)
    names = {}
    for r, (label, _count, _size) in enumerate(part.rows()):
        if label not in _NAMED_KINDS:
            continue
        for node in part.row_set(r).ids():
            names[node] = views.object_name(snap, node, label)
    return names


def write(heap, path, fmt):
    """Writes the snapshot of heap (a heapy IdSet) as fmt (FORMATS) to
    path; dot: the shortest paths to heap's objects and their referrers;
    html: report.py's page of heap.  Returns the seconds it took."""
    if fmt not in FORMATS:
        raise RemoraError("remora: unknown export format %r (one of %s)"
                          % (fmt, ", ".join(FORMATS)))
    start = time.monotonic()
    idset = heap._handle
    snap = idset.snapshot
    if fmt in ("dot", "html"):
        if fmt == "dot":
            text = dot(snap, idset)
        else:
            from . import report
            text = report.page(heap)
        part = path + ".part"
        try:
            with open(part, "w") as f:
                f.write(text)
            os.replace(part, path)
        except OSError as exc:
            raise RemoraError("remora: cannot write %s: %s" % (path, exc.strerror or exc))
        return time.monotonic() - start
    snap.export(_C_FORMATS[fmt], path, named_objects(snap, snap.all()))
    return time.monotonic() - start


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


MAX_DOT_PATHS = 20
MAX_DOT_REFERRERS = 30


def dot(snap, idset):
    """Graphviz's digraph of the shortest paths from the roots to idset's
    members nearest them (as x.sp lists them), and of the members'
    referrers (objgraph's back-reference picture), each node named as
    views.object_name says, each edge labelled with heapy's via."""
    nodes, edges, roots = set(), set(), {}
    paths, truncated = idset.paths(MAX_DOT_PATHS)
    members = set(idset.ids(0, 1000))
    for root, steps in paths:
        # the first step enters the graph from a root (heapy's RootState)
        for j, (src, dst, via) in enumerate(steps):
            nodes.add(dst)
            if j == 0:
                roots.setdefault(dst, set()).add(snap.path_step("", root, via))
            else:
                nodes.add(src)
                edges.add((src, dst, via))
    referrers = idset.referrers().difference(idset)
    for node in referrers.ids(0, MAX_DOT_REFERRERS):
        nodes.add(node)
        for target, via in snap.edges(node):
            if target in members:
                nodes.add(target)
                edges.add((node, target, via))
    nodes.update(list(members)[:MAX_DOT_PATHS])
    out = ["digraph remora {", '  rankdir=LR; node [shape=box, fontsize=10];',
           '  edge [fontsize=9];']
    if truncated:
        out.append('  label="only the first %d paths"; labelloc=t;' % MAX_DOT_PATHS)
    for node in sorted(nodes):
        label = "%s\n%d bytes @ 0x%x" % (views.object_name(snap, node),
                                         snap.node_size(node), snap.node_address(node))
        style = ', style=filled, fillcolor="#ffd7a8"' if node in members else ""
        out.append('  n%d [label=%s%s];' % (node, _quote(label), style))
    for i, (node, labels) in enumerate(sorted(roots.items())):
        out.append('  r%d [label=%s, shape=ellipse];' % (i, _quote("\n".join(sorted(labels)))))
        out.append("  r%d -> n%d;" % (i, node))
    for src, dst, via in sorted(edges):
        label = snap.path_step("", engine.NO_NODE, via)
        out.append("  n%d -> n%d [label=%s];" % (src, dst, _quote(label)))
    out.append("}")
    return "\n".join(out) + "\n"
