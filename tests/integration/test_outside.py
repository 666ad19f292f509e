"""test_outside.py — a capture from outside the process sees what the
injected agent sees (issue 3, reading a live process from outside).

For each interpreter:
GIVEN targets/census_target.py stopped (a varied heap, and its own census
      of every object its gc reaches, with sys.getsizeof),
WHEN  gdb captures it three times without letting it run: injected (the
      agent calls tp_traverse), injected walking "as from outside" (no
      tp_traverse), and from gdb's own process through /proc/PID/mem
      (py-heap -no-inject),
THEN  the outside snapshot equals the as-outside one exactly (same nodes,
      types, sizes and references: the proc reader reads what the agent
      reads in place);
      every object of the census is in the outside snapshot at its
      getsizeof size (and every BytesIO buffer gc sees), unless
      held only through C state that only tp_traverse lists;
      the injected and outside snapshots agree on every object both hold
      (type and size), and on the references of every object that is not
      flagged REMORA_NODE_MEMBERS (whose referents only tp_traverse or a
      module's m_traverse can list); and the outside snapshot's objects
      are exactly those the injected snapshot reaches from its roots when
      the flagged objects' references are the outside ones — so the
      injected-only objects are explained by those references alone;
      and the target then exits 0.
"""

import collections
import json
import os
import signal

import harness
import snapread
from harness import Target

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_outside.py")


def reach(roots, edges_of):
    seen = set()
    todo = list(roots)
    while todo:
        a = todo.pop()
        if a in seen:
            continue
        seen.add(a)
        todo.extend(edges_of(a))
    return seen


def compare(tap, name, wdir, census, gone, buffers):
    inj = snapread.Snapshot(os.path.join(wdir, "injected.remora"))
    aso = snapread.Snapshot(os.path.join(wdir, "asoutside.remora"))
    out = snapread.Snapshot(os.path.join(wdir, "outside.remora"))

    def same(a, b):
        if a.nodes != b.nodes:
            return "nodes differ: %d vs %d" % (len(a.nodes), len(b.nodes))
        for addr in a.nodes:
            if collections.Counter(a.edges[addr]) != collections.Counter(b.edges[addr]):
                return "references of %#x (%s) differ" % (addr, a.type_name(addr))
        if sorted(a.roots) != sorted(b.roots):
            return "roots differ"
        return None
    diff = same(aso, out)
    tap.ok("%s: outside snapshot == the agent's as-outside walk (%d objects)"
           % (name, len(out.nodes)), diff is None, diff)

    # objects held only by what tp_traverse or m_traverse lists (a
    # module's C state) are not seen from outside: the last check below
    # shows that this is the only reason
    only_inj = set(inj.nodes) - set(out.nodes)
    missing = [(a, t) for a, t, _s in census
               if a not in out.nodes and a not in only_inj and (a, t) not in gone]
    tap.equal("%s: every census object is in the outside snapshot, or held "
              "only through C state (%d went before the capture, the target says)"
              % (name, len(gone)),
              len(missing), 0, lambda: "missing (first 20): %r" % missing[:20])
    # a BytesIO's buffer, which its traverse visits from 3.12 (the target
    # lists them where gc sees them), is found from outside too
    tap.equal("%s: the %d BytesIO buffers gc sees are in the outside snapshot"
              % (name, len(buffers)), [hex(a) for a in buffers if a not in out.nodes], [])
    wrong = [(t, s, out.nodes[a][1]) for a, t, s in census
             if a in out.nodes and out.nodes[a][1] != s]
    tap.equal("%s: outside sizes equal getsizeof" % name, len(wrong), 0,
              lambda: "first 20 [type, getsizeof, remora]: %r" % wrong[:20])

    both = [a for a in out.nodes if a in inj.nodes]
    bad = [a for a in both if inj.nodes[a][:2] != out.nodes[a][:2]]
    tap.equal("%s: injected and outside agree on type and size of %d objects"
              % (name, len(both)), len(bad), 0,
              lambda: "first: %r" % [(hex(a), inj.type_name(a)) for a in bad[:10]])
    flagged = {a for a in out.nodes if out.nodes[a][2] & snapread.NODE_MEMBERS}
    refs = [a for a in both if a not in flagged and
            collections.Counter(inj.edges[a]) != collections.Counter(out.edges[a])]
    tap.equal("%s: same references for every object not flagged MEMBERS" % name,
              len(refs), 0,
              lambda: "first: %r" % [(hex(a), inj.type_name(a)) for a in refs[:10]])
    # roots: the interpreter's, plus GC-list objects nothing else reached,
    # which differ when only tp_traverse reaches an object on a GC list
    reached = reach(inj.roots + out.roots,
                    lambda a: (out.edges[a] if a in flagged
                               else inj.edges.get(a, ())))
    reached &= set(inj.nodes)
    tap.ok("%s: injected-only objects (%d) are exactly those only flagged "
           "objects' tp_traverse reaches" % (name, len(only_inj)),
           reached == set(out.nodes),
           lambda: "reached-but-not-outside %d, outside-but-not-reached %d"
           % (len(reached - set(out.nodes)), len(set(out.nodes) - reached)))


def run(tap, it):
    name = "outside %s" % it.name
    wdir = harness.workdir("outside", it.name)
    with Target.python(it, "census_target.py", wdir) as target:
        if not harness.target_started(tap, name, target):
            return
        g = harness.run_gdb(["source " + GDB_SCRIPT, "detach"], pid=target.pid,
                            env={"REMORA_OUTSIDE_DIR": wdir})
        res = harness.load_json(os.path.join(wdir, "result.json"))
        tap.ok("%s: every gdb command succeeded" % name, g.ok(), g.report)
        if not tap.ok("%s: three captures made" % name, res.get("ok"),
                      lambda: "%s\n%s" % (res.get("error"), g.report())):
            return
        with open(target.path("census.json")) as f:
            facts = json.load(f)
        census = facts["objects"]
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0" % name, target.wait_exit(60), 0, target.output)
        compare(tap, name, wdir, census, harness.census_gone(target),
                facts["bytesio_buffers"])


def main():
    return harness.run_per_interpreter("test_outside", "outside", run)


if __name__ == "__main__":
    raise SystemExit(main())
