"""test_retained.py — dominators and retained sizes on real heaps, against
an oracle that shares nothing with the engine (issue 12).

For each interpreter:
GIVEN targets/retained_target.py, which built a tree of fresh objects held
      only by its global TREE and computed itself (gc.get_referents,
      sys.getsizeof) what the tree and each of a few subtrees retain, and
      which object holds each subtree's root,
WHEN  gdb captures it, saves the snapshot (h.dump) and asks py-heap, for
      the tree, the subtrees, the top rows of h.byretained and a seeded
      sample of other objects, their retained size (byretained), dominos,
      domisize and imdom (gdb_retained.py),
THEN  for the tree and the subtrees remora's retained size, domisize and
      dominos count equal the target's own figures, and imdom is the
      object the target says holds them;
      and for every sampled object, by brute force on the saved graph
      (read by snapread.py, not by the engine): the dominated set —
      delete the object, search from the roots, take what became
      unreachable — equals remora's dominos, its size equals remora's
      domisize and the dominator tree's retained size, and remora's
      imdom dominates the object with no other dominator between them
      (or, where remora names none, nothing but the roots does);
      and byretained names the target's module dict, function, class,
      bound method and frames as the target names them (a frame by its
      code, file and the line the target's f_lineno gives: returned, a
      generator stopped and one not started, main's waiting), frames
      again from outside (py-heap -no-inject); byid's row of each says
      the same after heapy's rendering.
"""

import os
import signal

import harness
import snapread
from harness import Target, TargetError

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_retained.py")


class Graph:
    """The saved heap as index lists: succ[i] are the targets of node i's
    references, roots the root entries' targets (nodes only)."""

    def __init__(self, snap):
        self.addrs = sorted(snap.nodes)
        self.index = {a: i for i, a in enumerate(self.addrs)}
        self.size = [snap.nodes[a][1] for a in self.addrs]
        self.succ = [[self.index[t] for t in snap.edges[a] if t in self.index]
                     for a in self.addrs]
        self.roots = [self.index[t] for t in snap.roots if t in self.index]
        self.reachable = self.reach(self.roots)

    def reach(self, starts, avoid=-1, within=None):
        """Marks of what starts reach without entering avoid (and, given
        within, a set of nodes, without leaving it)."""
        seen = bytearray(len(self.addrs))
        stack = []
        for r in starts:
            if r != avoid and not seen[r] and (within is None or r in within):
                seen[r] = 1
                stack.append(r)
        while stack:
            v = stack.pop()
            for t in self.succ[v]:
                if t != avoid and not seen[t] and (within is None or t in within):
                    seen[t] = 1
                    stack.append(t)
        return seen

    def dominated(self, x):
        """heapy's dominos of {x}: x and what the roots reach only through it."""
        without = self.reach(self.roots, avoid=x)
        return {i for i, r in enumerate(self.reachable) if r and not without[i]} | {x}

    def path(self, starts, x, within=None):
        """A path from one of starts to x (nodes, starts first), or None."""
        parent = {s: None for s in starts if within is None or s in within}
        queue = list(parent)
        for v in queue:
            if v == x:
                break
            for t in self.succ[v]:
                if t not in parent and (within is None or t in within):
                    parent[t] = v
                    queue.append(t)
        if x not in parent:
            return None
        out = [x]
        while parent[out[-1]] is not None:
            out.append(parent[out[-1]])
        return out[::-1]

    def idom_problem(self, x, d):
        """Why d is not x's immediate dominator (d is None: the roots), or
        None if it is.  Any dominator lies on every path to x, so only
        the nodes of one path need testing."""
        if d is None:
            if x in self.roots:
                return None
            p = self.path(self.roots, x)
            for y in p[:-1]:
                if not self.reach(self.roots, avoid=y)[x]:
                    return "%#x dominates it" % self.addrs[y]
            return None
        dom_d = self.dominated(d)
        if x not in dom_d or x == d:
            return "%#x does not dominate it" % self.addrs[d]
        # every path from the roots to x runs through d and then stays
        # among the nodes d dominates: look for a dominator there
        p = self.path(self.succ[d], x, within=dom_d - {d})
        if p is None:
            return "no path from %#x to it" % self.addrs[d]
        for y in p[:-1]:
            if not self.reach(self.succ[d], avoid=y, within=dom_d - {d})[x]:
                return "%#x lies between" % self.addrs[y]
        return None


def check(tap, name, wdir, facts, res):
    snap = snapread.Snapshot(os.path.join(wdir, "h.remora"))
    g = Graph(snap)
    samples = {int(a): s for a, s in res["samples"].items()}

    # the target's own figures
    for what, f in [("TREE", facts["tree"])] + [
            ("subtree %d" % i, s) for i, s in enumerate(facts["subtrees"])]:
        got = samples.get(f["address"])
        if got is None:
            tap.fail("%s: %s was asked about" % (name, what))
            continue
        if "size" in f:
            tap.equal("%s: %s retains what the target says (%d objects): retained, "
                      "domisize, dominos count" % (name, what, f["count"]),
                      (got["retained"], got["domisize"], len(got["dominos"])),
                      (f["size"], f["size"], f["count"]))
        tap.equal("%s: %s's imdom is the object the target says holds it" % (name, what),
                  got["imdom"], [f["imdom"]])

    # the rows say what each object is (issue 11), as the target names it
    for a, want in facts["named"]:
        tap.equal("%s: byretained names %s" % (name, want.split(" of 0x")[0]),
                  res["named"].get(str(a)), want)
        # byid's row: heapy's rendering, then what it is where heapy
        # gives only an address ("0x.. (__main__)")
        kind, _, what = want.partition(": ") if ": " in want else want.rpartition(" ")
        if kind == "type":           # heapy's Name column: the class's own name
            what = what.rpartition(".")[2]
        rows = [line for line in res["byid"].get(str(a), "").splitlines()
                if line.lstrip().startswith("0 ")]
        tap.ok("%s: byid's row says what the %s is" % (name, kind),
               len(rows) == 1 and (rows[0].endswith(" (%s)" % what) or
                                   rows[0].endswith(" " + what)),
               "want a row ending with %r (or its parenthesized form) in:\n%s"
               % (what, res["byid"].get(str(a))))
        if want.startswith("types.FrameType"):
            tap.equal("%s: byretained names %s (from outside)" % (name, want),
                      res["named_outside"].get(str(a)), want)

    # brute force on the saved graph
    wrong_set, wrong_size, wrong_idom = [], [], []
    for a, got in sorted(samples.items()):
        x = g.index.get(a)
        if x is None:
            wrong_set.append((hex(a), "not in the saved snapshot"))
            continue
        dom = g.dominated(x)
        want = sorted(g.addrs[i] for i in dom)
        if got["dominos"] != want:
            wrong_set.append((hex(a), snap.type_name(a), "remora %d, brute force %d" % (
                len(got["dominos"]), len(want)),
                "missing %r" % [hex(m) for m in sorted(set(want) - set(got["dominos"]))[:5]],
                "extra %r" % [hex(m) for m in sorted(set(got["dominos"]) - set(want))[:5]]))
        size = sum(g.size[i] for i in dom)
        if (got["retained"], got["domisize"]) != (size, size):
            wrong_size.append((hex(a), snap.type_name(a), "retained %r, domisize %r, "
                               "brute force %d" % (got["retained"], got["domisize"], size)))
        if len(got["imdom"]) > 1 or any(d not in g.index for d in got["imdom"]):
            why = "imdom %r is not one object of the snapshot" % got["imdom"]
        else:
            why = g.idom_problem(x, g.index[got["imdom"][0]] if got["imdom"] else None)
        if why:
            wrong_idom.append((hex(a), snap.type_name(a), "imdom %s: %s" % (
                [hex(d) for d in got["imdom"]], why)))
    n = len(samples)
    tap.equal("%s: dominos = brute-force dominated set, for %d objects (%d of %d top "
              "retainers)" % (name, n, len(res["top"]), len(res["top"])), wrong_set, [])
    tap.equal("%s: retained size (dominator tree) and domisize = brute force, for %d "
              "objects" % (name, n), wrong_size, [])
    tap.equal("%s: imdom is the immediate dominator, by brute force, for %d objects"
              % (name, n), wrong_idom, [])
    big = max(samples.values(), key=lambda s: len(s["dominos"]))
    tap.diag("%s: %d nodes, %d sampled; largest sampled dominated set %d objects"
             % (name, len(g.addrs), n, len(big["dominos"])))


def run(tap, it):
    name = "retained %s" % it.name
    wdir = harness.workdir("retained", it.name)
    with Target.python(it, "retained_target.py", wdir) as target:
        try:
            target.wait_ready()
        except TargetError as exc:
            tap.fail("%s: target starts and writes its facts" % name, str(exc))
            return
        out = os.path.join(wdir, "gdb.json")
        g = harness.run_gdb(["source " + GDB_SCRIPT, "detach"], pid=target.pid,
                            env={"REMORA_TEST_OUT": out,
                                 "REMORA_TEST_FACTS": target.path("facts.json"),
                                 "REMORA_TEST_DUMP": os.path.join(wdir, "h.remora")})
        res = harness.load_json(out)
        tap.ok("%s: every gdb command succeeded (%.1fs)" % (name, g.seconds), g.ok(), g.report)
        if tap.ok("%s: py-heap answered every question" % name, res.get("ok"),
                  lambda: "%s\n%s" % (res.get("error"), g.report())):
            check(tap, name, wdir, target.json("facts.json"), res)
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0, its tree intact" % name, target.wait_exit(60), 0,
                  target.output)


def main():
    return harness.run_per_interpreter("test_retained", "retained", run)


if __name__ == "__main__":
    raise SystemExit(main())
