"""test_session.py — heapy's pkgcore tutorial, replayed in gdb with py-heap.

For each interpreter:
GIVEN targets/pkgcore_target.py: `package` instances (materialized
      __dict__) holding a `data` dict of strings with a nested `_eclasses_`
      dict, and a __slots__ class CPV whose key strings are many distinct str
      objects with equal values, cached in a WeakValueDictionary and held
      strongly only by their packages; the target computes its own facts
      (gc's referents closure and its reverse edges, sys.getsizeof, id(),
      every exclusivity checked with sys.getrefcount),
WHEN  gdb attaches while it waits, captures `old` (old.bymodule,
      hp.Module('sys')), runs hp.setrelheap(), lets it build the packages
      and import a module until it stops itself, and replays the
      tutorial (gdb_session.py): h.byrcs, byrcs[i].byclodo/.bysize/.byid/
      .byid[0].theone/.byvia, Via('.key').alt('<'), ~Via('.key'),
      Via('.key', '.cpvstr').alt('<') and ('<='), Via('.key').alt('>') and
      ('>='), h[i].byrcs[j] ^ byrcs[i], h[i].byrcs[j].referrers.byrcs,
      t[0].domisize/.byvia/.referents.byvia, refs.byvia[k].nodes,
      h[i].byid[0].sp, h.diff(old) (text and -json) and the diff of the
      packages and CPVs against the Before objects, h.dump()/hp.load()
      (its rows and .byrcs), and hp.iso(addr).domisize/.dominos/.referrers;
      and, beyond the tutorial, h.bymodule and hp.Module(...),
THEN  every step succeeds and every count, size, label, address and path it
      prints equals the target's facts, and the target finishes normally.
Rows the tutorial names by number are picked by label (gdb_session.py).
"""

import os
import re
import signal

import harness
from harness import Target, TargetError, rows_summary, size_of_label
from gdb_session import bare, rcs_parts, via_parts

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_session.py")
HEADER = re.compile(r"Partition of a set of (\d+) objects?\. Total size = (\d+) bytes\.")
# heapy's DiffFormat: "  A    <count> <size>" and
# " Index  Count     Size  Cumulative  % of B Kind" rows
DIFF_TOTAL = re.compile(r"^\s+(A|B)\s+(-?\d+)\s+(-?\d+)\s*$")
DIFF_ROW = re.compile(r"^\s*\d+\s+(-?\d+)\s+(-?\d+)\s+-?\d+\s+(?:\(n\.a\.\)|\S+)\s+(\S.*)$")

SYS_RT_SIGTIMEDWAIT = 128   # x86-64: what signal.sigwait() waits in


def package_path(index):
    """heapy's shortest path to pkgcore.PKGS[index] (the module is only in
    sys.modules; guppy3 Path.py)."""
    return " 0: hp.Root.i0_modules['pkgcore'].__dict__['PKGS'][%d]" % index


def totals(obj):
    """(count, size) of a -json partition or empty set."""
    return (obj or {}).get("count"), (obj or {}).get("size")


class Checker:
    """The assertions for one interpreter; the gdb log goes with the first
    failure only."""

    def __init__(self, tap, name, gdbrun, results):
        self.tap, self.name, self.gdbrun = tap, name, gdbrun
        self.steps = results.get("steps", {})
        self.picked = results.get("picked", {})
        self.reported = False
        self.failed = set()

    def detail(self, extra=""):
        def build():
            if self.reported:
                return extra
            self.reported = True
            return (extra + "\n" if extra else "") + self.gdbrun.report()
        return build

    def ok(self, desc, cond, extra=""):
        return self.tap.ok("%s: %s" % (self.name, desc), cond, self.detail(extra))

    def equal(self, desc, got, want, extra=""):
        return self.tap.equal("%s: %s" % (self.name, desc), got, want, self.detail(extra))

    def skip(self, desc, reason):
        self.tap.skip("%s: %s" % (self.name, desc), reason)

    def step(self, key, what=None):
        """The step if it ran and succeeded; else one failed assertion
        (the error in full the first time a step is asked for)."""
        st = self.steps.get(key)
        desc = what or "`%s` succeeds" % (st or {}).get("command", key)
        if st is None:
            self.ok(desc, False, "not run: an earlier step failed (see above)")
            return None
        if not st.get("ok"):
            if key in self.failed:
                self.ok(desc, False, "(its error is above)")
            else:
                self.failed.add(key)
                self.ok(desc, False, "error: %s\n%s" % (st.get("error"),
                                                       st.get("traceback", "")))
            return None
        return st

    def partition(self, key):
        """The parsed -json partition (or empty set, or byid's table) a step
        printed."""
        st = self.step(key)
        if st is None:
            return None
        obj = st.get("json") or {}
        if obj.get("type") not in ("partition", "set", "idtable"):
            self.ok("`%s` prints a partition" % st["command"], False,
                    "output: %r" % st.get("text", "")[:600])
            return None
        return obj

    def value(self, key):
        st = self.step(key)
        return (True, st.get("value")) if st else (False, None)

    def figures(self, desc, got, want, part=None):
        """got: a row or a partition; want: {"count", "size"}."""
        return self.equal("%s: count=%d size=%d" % (desc, want["count"], want["size"]),
                          totals(got), (want["count"], want["size"]),
                          rows_summary(part, 40) if part else "")

    def row(self, key, desc, match, want):
        part = self.partition(key)
        if part is None:
            return
        found = [r for r in part.get("rows", []) if match(r.get("label", ""))]
        if not found:
            self.ok("%s has a row %s" % (self.steps[key]["command"], desc), False,
                    rows_summary(part, 60))
            return
        self.figures("`%s` row %s" % (self.steps[key]["command"], desc), found[0], want, part)

    def header_agrees(self, text_key, json_key):
        """The text form prints heapy's label with the -json form's totals."""
        st, part = self.step(text_key), self.steps.get(json_key, {}).get("json")
        if st is None or part is None:
            return
        m = HEADER.search(st.get("text", ""))
        desc = "`%s` prints heapy's partition label with the totals of its -json form" \
            % st["command"]
        if self.ok(desc, m is not None, "output: %r" % st.get("text", "")[:600]):
            self.equal(desc + " (count, size)", (int(m.group(1)), int(m.group(2))),
                       totals(part))


def module_rows(part):
    """The rows of a bymodule partition other than ~module, sorted
    (label, count, size)."""
    return sorted((r.get("label"), r.get("count"), r.get("size"))
                  for r in (part or {}).get("rows", []) if r.get("label") != "~module")


def module_figures(modules):
    """{"count", "size"} of the target's [name, id, size] modules."""
    return {"count": len(modules), "size": sum(m[2] for m in modules)}


def check_bymodule(c, key, modules):
    """A bymodule partition: one row per module object, labelled by its
    __name__ (heapy's ByModule); everything else is the row ~module."""
    part = c.partition(key)
    if part is None:
        return
    cmd = c.steps[key]["command"]
    c.equal("`%s`: a row per module object, (name, 1, sys.getsizeof) (%d modules)"
            % (cmd, len(modules)), module_rows(part),
            sorted((name, 1, size) for name, _addr, size in modules), rows_summary(part, 200))
    mods = module_figures(modules)
    c.row(key, "'~module' (the rest)", lambda lb: lb == "~module",
          {"count": part.get("count", 0) - mods["count"],
           "size": part.get("size", 0) - mods["size"]})


def check_stage1(c, facts1):
    # Stage 1: `old` has the Before objects and no package yet.
    c.step("old")
    old = c.partition("old_byclodo")
    if old is not None:
        c.row("old_byclodo", "'Before'", lambda lb: bare(lb) == "Before", facts1["Before"])
        c.ok("`old.byclodo` has no 'package' row yet",
             not any(bare(r.get("label", "")) == "package" for r in old.get("rows", [])),
             rows_summary(old, 60))
    c.header_agrees("old_bymodule_text", "old_bymodule")
    check_bymodule(c, "old_bymodule", facts1["modules"])
    ok, got = c.value("old_module_sys")
    if ok:
        c.equal("(old & hp.Module('sys')).addresses: the module sys.modules['sys']", got,
                [facts1["sys_address"]])
    c.step("setrelheap")
    return c.step("continue", "the target resumed after setrelheap and stopped again")


def check_reused(c, facts):
    """A str made after setrelheap at the address of one `old` held
    (freed): h counts it."""
    if not facts.get("reused_address"):
        c.skip("a new str at an old str's address is in h",
               "the target never had a new str take the freed one's address")
        return
    ok, got = c.value("reused_in_h")
    if ok:
        c.equal("a new str (one character longer) at the address of a str `old` held is "
                "in h", got, 1)


def check_stage2(c, facts, facts1):
    # hp.heap() after setrelheap: the packages, not what existed before.
    c.step("h")
    h = c.partition("h_byclodo")
    c.header_agrees("h_text", "h_byclodo")
    if h is not None:
        c.ok("h (after setrelheap) has no 'Before' row",
             not any(bare(r.get("label", "")) == "Before" for r in h.get("rows", [])),
             rows_summary(h, 60))
        c.row("h_byclodo", "'package'", lambda lb: bare(lb) == "package", facts["package"])
        c.row("h_byclodo", "'CPV'", lambda lb: bare(lb) == "CPV", facts["CPV"])
        c.row("h_byclodo", "'dict of package'", lambda lb: bare(lb) == "dict of package",
              facts["dict_of_package"])
    part = c.partition("h_type_package")
    if part is not None:
        c.figures("h & hp.Type('__main__.package')", part, facts["package"])

    # byrcs[5]: the strings only CPVs refer to.
    rcs = facts["rcs_cpv"]
    c.header_agrees("byrcs_text", "byrcs")
    c.row("byrcs", "of referrers {CPV}", lambda lb: rcs_parts(lb) == ["CPV"], rcs)
    c.row("byrcs", "of referrers {CPV, list}", lambda lb: rcs_parts(lb) == ["CPV", "list"],
          facts["rcs_cpv_list"])
    part = c.partition("cpv_byclodo")
    c.header_agrees("cpv_byclodo_text", "cpv_byclodo")
    if part is not None:
        c.equal("`%s` is one row, str" % c.steps["cpv_byclodo"]["command"],
                [(r.get("label"), r.get("count"), r.get("size")) for r in part.get("rows", [])],
                [("str", rcs["count"], rcs["size"])])
    part = c.partition("cpv_bysize")
    if part is not None:
        c.equal("`%s` rows: {size: count}" % c.steps["cpv_bysize"]["command"],
                {size_of_label(r.get("label")): r.get("count") for r in part.get("rows", [])},
                {int(k): v for k, v in rcs["bysize"].items()})
    part = c.partition("cpv_byid")
    big = rcs["biggest"]
    if part is not None:
        rows = part.get("rows", [])
        c.equal("`%s` has one row per object" % c.steps["cpv_byid"]["command"],
                (len(rows), totals(part)), (rcs["count"], (rcs["count"], rcs["size"])))
        c.equal("`%s` row 0 is the largest object" % c.steps["cpv_byid"]["command"],
                rows[0].get("size") if rows else None, big["size"])
        # a row without an address is a failure, not a reason to skip
        c.equal("`%s` rows are the objects only CPVs refer to, each with its address "
                "(rows without one, addresses)" % c.steps["cpv_byid"]["command"],
                (sum(1 for r in rows if not isinstance(r.get("address"), int)),
                 sorted(r["address"] for r in rows if isinstance(r.get("address"), int))),
                (0, rcs["addresses"]))
    ok, got = c.value("cpv_byid0_addresses")
    if ok:
        c.equal("byrcs[i].byid[0] is the largest str, at its address", got, [big["address"]])
    st = c.step("cpv_theone_text")
    if st is not None:
        c.ok("byrcs[i].byid[0].theone shows the str (%r...)" % big["value"][:12],
             big["value"][:12] in st.get("text", ""), "output: %r" % st.get("text", "")[:400])
    part = c.partition("cpv_byvia")
    c.header_agrees("cpv_byvia_text", "cpv_byvia")
    if part is not None:
        c.equal("`%s` rows: {relations: (count, size)}" % c.steps["cpv_byvia"]["command"],
                {tuple(via_parts(r.get("label"))): (r.get("count"), r.get("size"))
                 for r in part.get("rows", [])},
                {tuple(v): (n, s) for v, n, s in rcs["byvia"]}, rows_summary(part))

    # Via('.key') and its alternatives (heapy's NyObjectClassifier_Compare: '<' is a proper
    # subset of the incoming relations, '>' a proper superset).
    part = c.partition("nonkeys")
    if part is not None:
        c.figures("nonkeys = byrcs[i] & hp.Via('.key').alt('<') (proper subset of {'.key'})",
                  part, facts["via_key_lt"])
    if facts["via_key_lt"]["count"] == 0:
        st = c.step("nonkeys_text")
        if st is not None:
            c.equal("`py-heap nonkeys` prints heapy's empty set", st.get("text", "").strip(),
                    "hp.Nothing")
    c.header_agrees("not_via_key_text", "not_via_key")
    part = c.partition("not_via_key")
    if part is not None:
        c.figures("byrcs[i] & ~hp.Via('.key')", part, facts["not_via_key"])
    part = c.partition("via_key_only")
    if part is not None:
        c.figures("byrcs[i] & hp.Via('.key') (referred to only as .key)", part,
                  facts["via_key_only"])
    part = c.partition("via_key_gt")
    if part is not None:
        c.figures("(byrcs[i] | byrcs[j]) & hp.Via('.key').alt('>') (.key and more)", part,
                  facts["via_key_gt"])
    part = c.partition("via_key_ge")
    if part is not None:
        c.figures("(byrcs[i] | byrcs[j]) & hp.Via('.key').alt('>=') (.key, perhaps more)",
                  part, facts["via_key_ge"])
    # the tutorial's '<' selects nothing here; with two labels it selects
    # the objects held by one of them only, and '<=' adds those held by both
    part = c.partition("via_pair_lt")
    if part is not None:
        c.figures("byrcs[i] & hp.Via('.key', '.cpvstr').alt('<') (only .key, or only "
                  ".cpvstr)", part, facts["via_pair_lt"])
    part = c.partition("via_pair_le")
    if part is not None:
        c.figures("byrcs[i] & hp.Via('.key', '.cpvstr').alt('<=') (.key, .cpvstr or both)",
                  part, facts["via_pair_le"])

    # h[0].byrcs[3] ^ byrcs[5]
    part = c.partition("xor_same")
    if part is not None:
        c.equal("h[str].byrcs[{CPV}] ^ byrcs[{CPV}] is empty", totals(part), (0, 0))
        st = c.step("xor_same_text")
        if st is not None:
            c.equal("... and prints as hp.Nothing", st.get("text", "").strip(), "hp.Nothing")
    part = c.partition("xor_other")
    if part is not None:
        both = {k: rcs[k] + facts["rcs_cpv_list"][k] for k in ("count", "size")}
        c.figures("h[str].byrcs[{CPV}] ^ byrcs[{CPV, list}] (disjoint: the union)", part, both)

    # hp.Via: an attribute matches both spellings, wherever it is kept
    for key, text in (("via_data", "h & hp.Via(\"['data']\")"),
                      ("via_dot_data", "h & hp.Via('.data')")):
        part = c.partition(key)
        if part is not None:
            c.figures("%s is the data dicts (held as %s) and CACHE.data"
                      % (text, facts["data_held_by"]), part, facts["via_data"], part)

    # t = h[0].byrcs[0].referrers.byrcs: the package dicts.
    held_by = facts["data_held_by"]
    c.row("hdict_byrcs", "of referrers {%s} (the data dicts)" % held_by,
          lambda lb: rcs_parts(lb) == [held_by], facts["data_dicts"])
    check_chain(c, facts)
    check_held(c, facts, facts1)


def check_chain(c, facts):
    c.header_agrees("t_text", "t")
    part = c.partition("t")
    if part is not None:
        c.equal("`%s` is one row: the package dicts, referred to by packages"
                % c.steps["t"]["command"],
                [(rcs_parts(r.get("label")), r.get("count"), r.get("size"))
                 for r in part.get("rows", [])],
                [(["package"], facts["dict_of_package"]["count"],
                  facts["dict_of_package"]["size"])], rows_summary(part))
    ok, got = c.value("t0_domisize")
    if ok:
        c.equal("t[0].domisize = what only the package dicts keep alive (%d objects)"
                % facts["t0_dominos_count"], got, facts["t0_domisize"])
    part = c.partition("t0_byvia")
    if part is not None:
        c.equal("t[0].byvia is one row '.__dict__'",
                [(via_parts(r.get("label")), r.get("count"), r.get("size"))
                 for r in part.get("rows", [])],
                [([".__dict__"], facts["dict_of_package"]["count"],
                  facts["dict_of_package"]["size"])], rows_summary(part))
    for label, want in sorted(facts["t0_referents_byvia"].items()):
        c.row("t0_referents_byvia", "via %s" % label,
              lambda lb, label=label: via_parts(lb) == [label], want)
    if c.step("nodes5") is not None:
        ok, got = c.value("nodes_len")
        if ok:
            c.equal("len(list(refs.byvia[['cpv']].nodes))", got, facts["CPV"]["count"])
    ok, got = c.value("cpv_addresses")
    if ok:
        c.equal("refs.byvia[['cpv']].addresses are the CPVs' id()s", got,
                facts["cpv_addresses"])



def check_held(c, facts, facts1):
    # h[0].byid[0].sp
    ok, got = c.value("pkg_byid0_addresses")
    st = c.step("pkg_sp")
    if ok and st is not None:
        index = facts["pkg_index_by_address"].get(str(got[0])) if got else None
        if c.ok("h[package].byid[0] is one of pkgcore.PKGS", index is not None,
                "address %r" % (got,)):
            c.equal("h[package].byid[0].sp", st.get("text", "").rstrip("\n"),
                    package_path(index))

    # A chosen data dict: what it alone keeps alive; weak references keep nothing.
    chosen = facts["chosen"]
    ok, got = c.value("chosen_domisize")
    if ok:
        c.equal("hp.iso(<data dict of package %d>).domisize (%s)"
                % (chosen["index"], ", ".join(chosen["dominos_types"])), got, chosen["domisize"])
    ok, got = c.value("chosen_dominos")
    if ok:
        want = chosen["dominos"]
        c.equal("hp.iso(<data dict of package %d>).dominos are the objects it alone holds"
                % chosen["index"], got, want,
                "missing: %r\nextra: %r" % (sorted(set(want) - set(got or [])),
                                            sorted(set(got or []) - set(want))))
    ok, got = c.value("cpv_referrers")
    if ok:
        c.equal("a CPV's only referrer is its %s (the WeakValueDictionary's "
                "KeyedRef does not count)" % facts["data_held_by"].replace(" of package", ""),
                got, [chosen["holder_address"]])

    check_modules(c, facts, facts1)
    check_diff(c, facts, facts1)
    check_loaded(c, facts)


def check_modules(c, facts, facts1):
    """h.bymodule and hp.Module: heapy's Module classifier (guppy3
    Classifiers.ByModule) makes each module object (type exactly
    ModuleType) a kind of its own, labelled by its __name__, and
    hp.Module(name) is the kind of sys.modules[name]."""
    new = facts["modules_new"]
    c.header_agrees("h_bymodule_text", "h_bymodule")
    check_bymodule(c, "h_bymodule", new)
    chosen = facts["module_chosen"]
    part = c.partition("h_module")
    if part is not None:
        c.figures("h & hp.Module(%r) (imported after setrelheap)" % chosen["name"], part,
                  {"count": 1, "size": chosen["size"]})
    ok, got = c.value("h_module_addresses")
    if ok:
        c.equal("(h & hp.Module(%r)).addresses: sys.modules[%r]" % (chosen["name"],
                                                                   chosen["name"]),
                got, [chosen["address"]])
    part = c.partition("h_module_sys")
    if part is not None:
        c.equal("h & hp.Module('sys') is empty (sys is older than setrelheap)",
                totals(part), (0, 0))
    part, h = c.partition("h_not_module"), c.steps.get("h_byclodo", {}).get("json")
    if part is not None and h is not None:
        mods = module_figures(new)
        c.figures("h & hp.Module() (~module: all but the %d new modules)" % mods["count"],
                  part, {"count": h["count"] - mods["count"], "size": h["size"] - mods["size"]})


def check_diff(c, facts, facts1):
    """h.diff(old) in -json form: heapy's rows for the kinds the target
    knows; heapy's table text of a diff all of whose rows it knows."""
    old_mods, new_mods = module_figures(facts1["modules"]), module_figures(facts["modules_new"])
    want = {"package": facts["package"], "CPV": facts["CPV"],
            "dict of package": facts["dict_of_package"],
            "Before": {k: -v for k, v in facts1["Before"].items()},
            "module": {k: new_mods[k] - old_mods[k] for k in ("count", "size")}}
    st = c.step("diff")
    obj = (st or {}).get("json") or {}
    if st is not None and c.ok("`%s` prints a diff with rows" % st["command"],
                               obj.get("type") == "diff" and bool(obj.get("rows")),
                               "output: %r" % st.get("text", "")[:600]):
        rows = {}
        for r in obj["rows"]:
            rows.setdefault(bare(r.get("label", "")), (r.get("count"), r.get("size")))
        for kind, w in sorted(want.items()):
            c.equal("h.diff(old) -json row %r: %+d objects, %+d bytes"
                    % (kind, w["count"], w["size"]),
                    rows.get(kind), (w["count"], w["size"]))
        for side, key in (("a", "h_byclodo"), ("b", "old_byclodo")):
            part = c.steps.get(key, {}).get("json")
            if part is not None:
                c.equal("h.diff(old) -json %r is the totals of %s" % (side, key),
                        tuple(obj.get(side) or ()), totals(part))
    st = c.step("diff_text")
    if st is not None and obj.get("type") == "diff":
        c.equal("`py-heap h.diff(old)` prints A and B as its -json form has them",
                diff_table(st.get("text", ""))[0],
                {"A": tuple(obj.get("a") or ()), "B": tuple(obj.get("b") or ())},
                "output: %s" % st.get("text", "")[:1500])
    st = c.step("diff_kinds_text")
    if st is not None:
        a = [facts["package"], facts["CPV"]]
        b = facts1["Before"]
        sums, rows = diff_table(st.get("text", ""))
        detail = "output: %s" % st.get("text", "")[:1500]
        c.equal("(h & (package | CPV)).diff(old & Before) prints A and B "
                "(count, size)", sums,
                {"A": (sum(x["count"] for x in a), sum(x["size"] for x in a)),
                 "B": (b["count"], b["size"])}, detail)
        c.equal("(h & (package | CPV)).diff(old & Before) prints the rows package, CPV "
                "and Before", rows,
                {kind: (want[kind]["count"], want[kind]["size"])
                 for kind in ("package", "CPV", "Before")}, detail)


def check_loaded(c, facts):
    """hp.load(<h.dump()>): h's rows again, and the target's own figures,
    with the graph (byrcs needs the referrers)."""
    c.step("dump")
    c.step("loaded_bind")
    c.header_agrees("loaded_text", "loaded")
    part = c.partition("loaded")
    h = c.steps.get("h_byclodo", {}).get("json")
    if part is not None and h is not None:
        c.equal("hp.load(<h.dump()>) has h's rows",
                [(r.get("label"), r.get("count"), r.get("size")) for r in part.get("rows", [])],
                [(r.get("label"), r.get("count"), r.get("size")) for r in h.get("rows", [])])
    for kind, want in (("package", facts["package"]), ("CPV", facts["CPV"]),
                       ("dict of package", facts["dict_of_package"])):
        c.row("loaded", "%r" % kind, lambda lb, kind=kind: bare(lb) == kind, want)
    c.row("loaded_byrcs", "of referrers {CPV}", lambda lb: rcs_parts(lb) == ["CPV"],
          facts["rcs_cpv"])


def diff_table(text):
    """({"A": (count, size), "B": ...}, {bare label: (count, size)}) of
    heapy's printed DiffFormat table."""
    sums, rows = {}, {}
    for line in text.splitlines():
        m = DIFF_TOTAL.match(line)
        if m:
            sums[m.group(1)] = (int(m.group(2)), int(m.group(3)))
            continue
        m = DIFF_ROW.match(line)
        if m:
            rows.setdefault(bare(m.group(3)), (int(m.group(1)), int(m.group(2))))
    return sums, rows


def check_interpreter(tap, it):
    name = "session %s" % it.name
    wdir = harness.workdir("session", it.name)
    with Target.python(it, "pkgcore_target.py", wdir) as target:
        try:
            target.wait_ready()
            # `old` is taken where the target waits, in sigwait, with no
            # temporary of its last steps alive: one that dies after and
            # leaves its address to a new object of its type and size
            # would make setrelheap take that object for an old one (a
            # CPV's str on 3.15, under CI's load)
            target.wait_in_syscall(SYS_RT_SIGTIMEDWAIT)
        except TargetError as exc:
            tap.fail("%s: target starts and writes its facts" % name, str(exc))
            return
        facts1 = target.json("facts1.json")
        out = os.path.join(wdir, "gdb.json")
        g = harness.run_gdb(["source " + GDB_SCRIPT, "detach"], pid=target.pid,
                            env={"REMORA_TEST_OUT": out,
                                 "REMORA_TEST_FACTS": target.path("facts.json"),
                                 "REMORA_TEST_DUMP": target.path("h.dump")})
        results = harness.load_json(out)
        c = Checker(tap, name, g, results)
        c.ok("gdb session finished (%.1fs)" % g.seconds,
             g.ok() and bool(results.get("steps")))
        if "script" in c.steps:
            c.step("script")
        slow = sorted(((st.get("seconds", 0), st.get("command")) for st in c.steps.values()),
                      reverse=True)[:3]
        tap.diag("%s: slowest steps: %s" % (name, ", ".join("`%s` %.2fs" % (cmd, sec)
                                                           for sec, cmd in slow)))
        resumed = check_stage1(c, facts1)
        if not os.path.exists(target.path("facts.json")):
            c.ok("target built its packages and wrote facts.json", False, target.output())
            return
        if resumed:
            check_stage2(c, target.json("facts.json"), facts1)
            check_reused(c, target.json("facts.json"))
        target.send(signal.SIGUSR1)
        c.equal("target finishes with exit 0 after detach", target.wait_exit(60), 0,
                target.output())


def main():
    return harness.run_per_interpreter("test_session", "session", check_interpreter)


if __name__ == "__main__":
    raise SystemExit(main())
