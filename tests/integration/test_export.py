"""test_export.py — `remora export` (issue 11): the heap as Chrome
DevTools' .heapsnapshot read by memlab, as SQLite, as Graphviz's .dot,
as an HTML report in headless Chromium.

For each interpreter:
GIVEN targets/retained_target.py, which computed itself (gc.get_referents,
      sys.getsizeof) what its tree TREE and a few subtrees retain, knows
      what each of four objects is called, and holds a str over 1 MB in
      one dict,
WHEN  `remora snapshot` saves its heap, and `remora export` writes it as
      heapsnapshot, sqlite, dot (the dot of TREE) and html,
THEN  memlab (npm @memlab/core, its own parser, dominators and shortest
      paths) reads the .heapsnapshot with one node per object of the
      snapshot (read by snapread.py, not the engine) plus DevTools' two
      synthetic roots, each with the snapshot's size and references;
      memlab's retained size of TREE and of each subtree is the target's
      own figure, and of every object what the SQLite file says (remora's
      dominator tree: two algorithms, one graph); memlab's path to TREE runs along edges
      of the snapshot from a root and is as short as any (breadth-first
      search of snapread's graph); the four objects carry the names the
      target gives them;
      SQL queries on the .db give the snapshot's objects, edges and roots,
      TREE's retained size as the target computed it, and, for "every str
      over 1 MB and who holds it", exactly the target's str and its dict;
      Graphviz renders the .dot, whose every edge is an edge of the
      snapshot, with TREE filled, reached from a root as shortly as the
      snapshot allows, and with every referrer of TREE drawn;
      headless Chromium runs the HTML report's script to its end with no
      console message, and the page gives the snapshot's object count
      and size, the str and tuple rows of the partition as snapread
      counts them, and for the dict holding the big str the retained
      size the target computes; a screenshot is kept.
"""

import collections
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess

import harness
import snapread
from harness import Target, TargetError

REMORA = os.path.join(harness.TOP_BUILDDIR, "remora")
MEMLAB_DIR = os.path.join(harness.HERE, "node_modules", "@memlab", "core")
MEMLAB_CHECK = os.path.join(harness.HERE, "memlab_check.js")
# the synthetic root and "(GC roots)" come before the objects
FIRST = 2

BIG_STR_QUERY = """
SELECT s.address, s.size, holder.address
FROM objects s JOIN edges e ON e.dst = s.id JOIN objects holder ON holder.id = e.src
WHERE s.type = 'str' AND s.size > 1000000"""


def remora(*args, timeout=600):
    return subprocess.run([REMORA] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=harness.gdb_env())


def report(r):
    return lambda: "exit %s\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout[-3000:],
                                                          r.stderr[-3000:])


def hs_id(index):
    """The .heapsnapshot node id of the object of engine id index."""
    return 2 * (index + FIRST) + 1


class Graph:
    """snapread's snapshot as ids in address order (the engine's ids)."""

    def __init__(self, snap):
        self.addrs = sorted(snap.nodes)
        self.index = {a: i for i, a in enumerate(self.addrs)}
        self.size = [snap.nodes[a][1] for a in self.addrs]
        # every reference, and as a set
        self.refs = [[self.index[t] for t in snap.edges[a] if t in self.index]
                     for a in self.addrs]
        self.succ = [set(r) for r in self.refs]
        self.edge_count = sum(1 for a in self.addrs for t in snap.edges[a] if t in self.index)
        self.roots = [self.index[t] for t in snap.roots if t in self.index]
        self.depth = self.bfs()

    def bfs(self):
        """{id: the fewest edges from a root entry's target (0)}."""
        depth = {r: 0 for r in self.roots}
        todo = collections.deque(self.roots)
        while todo:
            v = todo.popleft()
            for t in self.succ[v]:
                if t not in depth:
                    depth[t] = depth[v] + 1
                    todo.append(t)
        return depth

    def referrers(self, x):
        return {v for v in range(len(self.addrs)) if x in self.succ[v]}


def check_heapsnapshot(tap, name, wdir, g, facts, db):
    if not shutil.which("node") or not os.path.isdir(MEMLAB_DIR):
        tap.skip("%s: memlab reads the .heapsnapshot" % name,
                 "node or npm's @memlab/core is missing (tests/integration/npm-install)")
        return
    tree = g.index[facts["tree"]["address"]]
    out = os.path.join(wdir, "memlab.json")
    r = subprocess.run(["node", MEMLAB_CHECK, os.path.join(wdir, "h.heapsnapshot"), out,
                        str(hs_id(tree))], capture_output=True, text=True, timeout=600)
    if not tap.ok("%s: memlab reads the .heapsnapshot" % name,
                  r.returncode == 0 and os.path.exists(out), report(r)):
        return
    with open(out) as f:
        ml = json.load(f)
    n = len(g.addrs)
    tap.equal("%s: memlab: one node per object, and the two roots" % name,
              ml["node_count"], n + FIRST)
    tap.equal("%s: memlab: one edge per reference and root, and the root's" % name,
              ml["edge_count"], g.edge_count + len(g.roots) + 1)
    nodes = {row[0]: row for row in ml["nodes"]}
    wrong = [(i, nodes.get(hs_id(i), [None] * 5)[3], g.size[i]) for i in range(n)
             if nodes.get(hs_id(i), [None] * 5)[3] != min(g.size[i], 2 ** 32 - 1)]
    tap.equal("%s: memlab: every object's self size is the snapshot's (%d)" % (name, n),
              wrong[:5], [])
    for what, f in [("TREE", facts["tree"])] + [
            ("subtree %d" % i, s) for i, s in enumerate(facts["subtrees"]) if "size" in s]:
        node = nodes.get(hs_id(g.index[f["address"]]))
        tap.equal("%s: memlab's retained size of %s = the target's sum of getsizeof"
                  % (name, what), node and node[4], f["size"])
    wrong = [i for i in range(n) if hs_id(i) in nodes and
             sorted(nodes[hs_id(i)][5]) != sorted(hs_id(t) for t in g.refs[i])]
    tap.equal("%s: memlab: every object's references lead where the snapshot's do" % name,
              wrong[:5], [])
    remora_retained = dict(db.execute("SELECT id, retained FROM objects"))
    differ = [(i, nodes[hs_id(i)][4], remora_retained.get(i)) for i in range(n)
              if nodes[hs_id(i)][4] != remora_retained.get(i)]
    tap.equal("%s: memlab's retained size of every object = remora's (%d objects)"
              % (name, n), differ[:5], [])
    for address, want in facts["named"]:
        node = nodes.get(hs_id(g.index[address])) if address in g.index else None
        tap.equal("%s: memlab's node of %s is named so" % (name, want),
                  node and node[2], want)
    steps = ml["paths"].get(str(hs_id(tree))) or []
    ids = [(s[0] - 1) // 2 - FIRST for s in steps if s[0] > 2 * FIRST]
    along = all(b in g.succ[a] for a, b in zip(ids, ids[1:]))
    tap.ok("%s: memlab's path to TREE runs from a root along the snapshot's edges" % name,
           bool(ids) and ids[0] in g.roots and ids[-1] == tree and along, str(steps))
    tap.equal("%s: memlab's path to TREE is a shortest one" % name,
              len(ids) - 1, g.depth.get(tree))


def check_sqlite(tap, name, g, facts, db):
    n, total = db.execute("SELECT count(*), sum(size) FROM objects").fetchone()
    tap.equal("%s: sqlite: the snapshot's objects and their total size" % name,
              (n, total), (len(g.addrs), sum(g.size)))
    addrs = [a for (a,) in db.execute("SELECT address FROM objects ORDER BY id")]
    tap.equal("%s: sqlite: objects.id is the address order" % name, addrs, g.addrs)
    tap.equal("%s: sqlite: every reference in edges" % name,
              db.execute("SELECT count(*) FROM edges").fetchone()[0], g.edge_count)
    tap.equal("%s: sqlite: every root in roots" % name,
              sorted(d for (d,) in db.execute("SELECT dst FROM roots")), sorted(g.roots))
    row = db.execute("SELECT retained FROM objects WHERE address = ?",
                     (facts["tree"]["address"],)).fetchone()
    tap.equal("%s: sqlite: TREE's retained size = the target's" % name,
              row and row[0], facts["tree"]["size"])
    big = facts["big_str"]
    tap.equal("%s: sqlite: every str over 1 MB and who holds it = the target's" % name,
              db.execute(BIG_STR_QUERY).fetchall(),
              [(big["address"], big["size"], big["holder"])])


DOT_NODE = re.compile(r'^\s*n(\d+) \[label=.*?(, style=filled.*)?\];$')
DOT_EDGE = re.compile(r'^\s*([nr])(\d+) -> n(\d+)')


def check_dot(tap, name, wdir, g, facts):
    path = os.path.join(wdir, "tree.dot")
    with open(path) as f:
        text = f.read()
    nodes, filled, edges, root_edges = set(), set(), set(), set()
    for line in text.splitlines():
        m = DOT_NODE.match(line)
        if m:
            nodes.add(int(m.group(1)))
            if m.group(2):
                filled.add(int(m.group(1)))
        m = DOT_EDGE.match(line)
        if m:
            (root_edges if m.group(1) == "r" else edges).add(
                (int(m.group(2)), int(m.group(3))))
    tree = g.index[facts["tree"]["address"]]
    tap.equal("%s: dot: TREE is the filled node" % name, filled, {tree})
    bad = sorted(e for e in edges if e[1] not in g.succ[e[0]])
    tap.equal("%s: dot: every edge drawn is a reference of the snapshot (%d)"
              % (name, len(edges)), bad, [])
    tap.ok("%s: dot: every root drawn holds its object" % name,
           all(t in g.roots for _r, t in root_edges), str(root_edges))
    depth = {t: 0 for _r, t in root_edges}
    frontier = list(depth)
    while frontier:
        nxt = []
        for v in frontier:
            for a, b in edges:
                if a == v and b not in depth:
                    depth[b] = depth[v] + 1
                    nxt.append(b)
        frontier = nxt
    tap.equal("%s: dot: TREE is reached from a root as shortly as the snapshot allows"
              % name, depth.get(tree), g.depth.get(tree))
    want = g.referrers(tree)
    tap.equal("%s: dot: every referrer of TREE is drawn holding it" % name,
              sorted(a for a, b in edges if b == tree), sorted(want))
    if not shutil.which("dot"):
        tap.skip("%s: graphviz renders the .dot" % name, "graphviz is not installed")
        return
    svg = os.path.join(wdir, "tree.svg")
    r = subprocess.run(["dot", "-Tsvg", path, "-o", svg], capture_output=True, text=True,
                       timeout=120)
    tap.ok("%s: graphviz renders the .dot" % name,
           r.returncode == 0 and os.path.getsize(svg) > 0, report(r))


CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(c)), None)


def check_html(tap, name, wdir, g, snap, facts):
    """The page in headless Chromium: no console message, and its numbers
    are the snapshot's and the target's; a screenshot is kept."""
    if CHROMIUM is None:
        tap.skip("%s: html: Chromium loads the page" % name, "no chromium installed")
        return
    page = "file://" + os.path.join(wdir, "report.html")
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=" + os.path.join(wdir, "chromium-profile"),
            "--enable-logging=stderr", "--v=0", "--window-size=1280,2400"]
    r = subprocess.run(base + ["--dump-dom", page], capture_output=True, text=True,
                       timeout=180)
    console = [ln for ln in r.stderr.splitlines() if ":CONSOLE" in ln]
    if not tap.ok("%s: html: Chromium loads the page, its script runs to the end" % name,
                  r.returncode == 0 and 'data-ready="1"' in r.stdout, report(r)):
        return
    tap.equal("%s: html: no console message (errors, warnings)" % name, console, [])
    dom = r.stdout
    figure = lambda key: re.search(r'<span id="%s">([\d,]+)</span>' % key, dom)
    objects, size = figure("objects"), figure("size")
    tap.equal("%s: html: the snapshot's object count and total size" % name,
              (objects and int(objects.group(1).replace(",", "")),
               size and int(size.group(1).replace(",", ""))), (len(g.addrs), sum(g.size)))
    kinds = re.findall(r'<tr class="kind" data-count="(\d+)" data-size="(\d+)">'
                       r'(?:<td[^>]*>[^<]*</td>){5}<td>([^<]*)</td>', dom)
    by_type = collections.Counter()
    size_of = collections.Counter()
    for a, (typ, sz, _flags) in snap.nodes.items():
        by_type[snap.types.get(typ)] += 1
        size_of[snap.types.get(typ)] += sz
    row = {label: (int(c), int(s)) for c, s, label in kinds}
    tap.equal("%s: html: the kinds' str and tuple rows count the snapshot's strs and tuples"
              % name, (row.get("str"), row.get("tuple")),
              ((by_type["builtins.str"], size_of["builtins.str"]),
               (by_type["builtins.tuple"], size_of["builtins.tuple"])))
    retainers = {a: int(v) for a, v in re.findall(
        r'<tr class="retainer" data-address="(0x[0-9a-f]+)" data-retained="(\d+)">', dom)}
    big = facts["big_str"]
    tap.equal("%s: html: the dict holding the big str retains it and itself, as the target "
              "computes" % name, retainers.get("0x%x" % big["holder"]),
              big["size"] + big["holder_size"])
    boxes = re.findall(r'<rect [^>]*data-retained="(\d+)"', dom)
    tap.ok("%s: html: the treemap draws boxes of retained sizes within the heap's" % name,
           len(boxes) > 0 and max(int(b) for b in boxes) <= sum(g.size), str(boxes[:5]))
    # kept past the run (the work directory goes when the test passes)
    shots = os.path.join(harness.TOP_BUILDDIR, "tests", "integration", "screenshots")
    os.makedirs(shots, exist_ok=True)
    shot = os.path.join(shots, "report-%s.png" % name.split()[-1])
    if os.path.exists(shot):
        os.unlink(shot)
    r = subprocess.run(base + ["--screenshot=" + shot, page], capture_output=True, text=True,
                       timeout=180)
    tap.ok("%s: html: a screenshot is kept (%s)" % (name, shot),
           os.path.exists(shot) and os.path.getsize(shot) > 10000, report(r))


def run(tap, it):
    name = "export %s" % it.name
    wdir = harness.workdir("export", it.name)
    with Target.python(it, "retained_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and writes its facts" % name, str(exc))
            return
        facts = target.json("facts.json")
        saved = os.path.join(wdir, "h.remora")
        r = remora("snapshot", str(target.pid), "-o", saved)
        tap.ok("%s: remora snapshot" % name, r.returncode == 0, report(r))
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0, its tree intact" % name, target.wait_exit(60), 0,
                  target.output)
    if r.returncode != 0:
        return
    snap = snapread.Snapshot(saved)
    g = Graph(snap)
    tree_set = "hp.idset([%d])" % facts["tree"]["address"]
    outs = {"heapsnapshot": "h.heapsnapshot", "sqlite": "h.db", "dot": "tree.dot",
            "html": "report.html"}
    for fmt, out in sorted(outs.items()):
        args = ["export", saved, "--format=" + fmt, "-o", os.path.join(wdir, out)]
        r = remora(*(args + (["--set", tree_set] if fmt == "dot" else [])))
        if not tap.ok("%s: remora export --format=%s" % (name, fmt),
                      r.returncode == 0 and os.path.exists(os.path.join(wdir, out))
                      and not os.path.exists(os.path.join(wdir, out + ".part")), report(r)):
            return
    db = sqlite3.connect(os.path.join(wdir, "h.db"))
    try:
        check_sqlite(tap, name, g, facts, db)
        check_heapsnapshot(tap, name, wdir, g, facts, db)
    finally:
        db.close()
    check_dot(tap, name, wdir, g, facts)
    check_html(tap, name, wdir, g, snap, facts)


def bad_input(tap):
    """One line and exit 1 for what cannot be exported; nothing written."""
    wdir = harness.workdir("export", "bad")
    junk = os.path.join(wdir, "junk.remora")
    with open(junk, "wb") as f:
        f.write(b"not a snapshot\n" * 10)
    out = os.path.join(wdir, "out.heapsnapshot")
    r = remora("export", junk, "--format=heapsnapshot", "-o", out)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    tap.ok("export of a file that is no snapshot: exit 1, one line, nothing written",
           r.returncode == 1 and len(lines) == 1 and not os.path.exists(out)
           and not os.path.exists(out + ".part"), report(r))
    r = remora("export", junk, "--format=pdf", "-o", out)
    tap.ok("export --format=pdf: exit 2, usage", r.returncode == 2 and "usage:" in r.stderr,
           report(r))


def main():
    tap = harness.Tap("test_export")
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    bad_input(tap)
    harness.each_interpreter(tap, interps, "export", run)
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
