"""pkgcore_target.py WORKDIR — the heap of heapy's pkgcore tutorial, with the
facts about it computed inside the target.

The tutorial (pkgcore dev-notes/heapy.rst, replayed by test_session.py)
walks a package database: `package` instances whose instance __dict__ holds
a `data` dict of strings with a nested `_eclasses_` dict, and a __slots__
class `CPV` whose `key` strings are many distinct str objects with equal
values; the CPVs are cached in a weakref.WeakValueDictionary and held
strongly only by their packages.

Two stages, so that the test can replay `hp.setrelheap()`:
  1. Make N_BEFORE `Before` objects, list the module objects, write
     facts1.json, create `ready`, and wait for SIGUSR1 (sigwait: nothing
     runs or allocates meanwhile).
  2. Build the packages in a module `pkgcore` (registered in sys.modules
     only, so shortest paths go through hp.Root.i0_modules and never through
     this thread's frame globals), import NEW_MODULE, compute the facts
     below, write
     facts.json, then stop for gdb by sending itself SIGUSR2 (gdb, told
     `handle SIGUSR2 stop nopass`, stops there).  Then wait for SIGUSR1
     again and exit 0.

The facts come from the target's own view of its heap: every object that
gc.get_objects() and the gc.get_referents() closure reach, the reverse of
those edges, sys.getsizeof and id().  Every object a fact claims to be held
only by certain referrers is also checked with sys.getrefcount, so a
reference gc cannot see (a frame, the interned-string table, a dict key)
makes the target fail loudly instead of writing a wrong fact.
"""

import gc
import json
import os
import signal
import sys
import types
import weakref

from referents import referents  # gc.get_referents, as the references are

N_BEFORE = 37           # objects that exist before setrelheap
N_NAMES = 60            # package names ...
N_VERSIONS = 5          # ... each in this many versions: N_NAMES * N_VERSIONS packages
N_FEATURED = 20         # names whose first version's key is also in FEATURED
UNVERSIONED_EVERY = 10  # package i with i % 10 == 9 has no version: cpvstr is key
LONG_VERSION_PKG = 7    # this package's version is the largest CPV-only str
CHOSEN_PKG = 42         # the package whose data dict's dominated set is a fact
NEW_MODULE = "colorsys"  # imported in stage 2 (imports nothing, and nothing imports it)
CATEGORIES = ("dev-lang", "dev-libs", "sys-apps", "net-misc", "app-misc", "x11-libs")
ECLASS_MTIME = 1700000000


class Before:
    """Objects that exist before setrelheap and must not be in the relative heap."""
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n


class CPV:
    """pkgcore's category/package-version: slots only, weakly cached."""
    __slots__ = ("key", "cpvstr", "category", "version", "__weakref__")


class package:  # noqa: N801 — the tutorial's name
    def __init__(self, cpv, data):
        self.cpv = cpv
        self.data = data


CPV_SLOTS = ("key", "cpvstr", "category", "version")
BEFORE = []
# One str held by exactly one list: calibrates what sys.getrefcount adds.
PROBE = []
# A str `old` holds, freed after it and its address taken by a new str
# one character longer (the same allocator size class): the new str is
# new (h must count it), whatever setrelheap's addresses say.
REUSED = []
REUSED_AT = []     # its address, once reused (None: never)
ABSORB = []
MISSES = []        # the new strs that took other addresses: kept, so
                   # that their addresses are not taken again


def reuse_address():
    """Frees REUSED's str and makes new ones until one sits where it
    was; that address, or None."""
    addr = id(REUSED[0])
    REUSED.clear()
    for _ in range(200000):
        s = fresh("n" * 5, "e" * 6)
        if id(s) == addr:
            REUSED.append(s)
            return addr
        MISSES.append(s)
    return None
# id()s of the module objects of stage 1 (all alive until the end: sys.modules)
STAGE1_MODULES = set()


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def module_objects(objs):
    """The module objects among objs as heapy's Module classifier sees them
    (type exactly ModuleType, each its own kind, labelled by __name__):
    sorted [name, id, size]."""
    return sorted([o.__name__, id(o), sys.getsizeof(o)] for o in objs
                  if type(o) is types.ModuleType)


def fresh(*parts):
    """A new str object (never interned, never a cached singleton)."""
    s = "".join(parts)
    assert len(s) > 1 and len(parts) > 1
    return s


# ------------------------------------------------------------------ build

def build():
    """The `pkgcore` module: PKGS, CACHE (WeakValueDictionary), FEATURED,
    and the shared LICENSES / ECLASS_SHARED the data dicts refer to."""
    mod = types.ModuleType("pkgcore")
    sys.modules["pkgcore"] = mod
    mod.LICENSES = [fresh("GPL", "-2"), fresh("BSD", "-3"), fresh("MIT", "-0")]
    mod.ECLASS_SHARED = (fresh("/usr/portage/eclass/", "eutils.eclass"), ECLASS_MTIME * 2)
    mod.CACHE = weakref.WeakValueDictionary()
    mod.FEATURED = []
    mod.PKGS = []
    __import__(NEW_MODULE)  # held by sys.modules only
    cats = [fresh(*c.split("-", 1)[0:1], "-", c.split("-", 1)[1]) for c in CATEGORIES]
    i = 0
    for n in range(N_NAMES):
        name = fresh("pkg", "%02d" % n)
        for v in range(N_VERSIONS):
            mod.PKGS.append(make_package(mod, i, cats[n % len(cats)], name, n, v))
            i += 1
    PROBE.append(fresh("pro", "be"))


def make_package(mod, i, cat, name, n, v):
    cpv = CPV()
    cpv.key = fresh(cat, "/", name)
    cpv.category = cat
    if i % UNVERSIONED_EVERY == UNVERSIONED_EVERY - 1:
        cpv.version = None
        cpv.cpvstr = cpv.key
    else:
        if i == LONG_VERSION_PKG:
            cpv.version = fresh("9999", "_p" * 100)
        else:
            cpv.version = fresh(str(v + 1), ".", str(i))
        cpv.cpvstr = fresh(cpv.key, "-", cpv.version)
    if v == 0 and n < N_FEATURED:
        mod.FEATURED.append(cpv.key)
    mod.CACHE[fresh("cpv:", cpv.cpvstr)] = cpv
    data = {
        "DESCRIPTION": fresh("Package number ", str(i), " of the heapy tutorial"),
        "HOMEPAGE": fresh("https://example.org/", name, "/", str(i)),
        "KEYWORDS": fresh("amd64 ~x86 r", str(i)),
        "SLOT": "0",
        "LICENSE": mod.LICENSES[i % len(mod.LICENSES)],
        "_eclasses_": {
            "eutils": mod.ECLASS_SHARED,
            "multilib": (fresh("/usr/portage/eclass/multilib.eclass#", str(i)),
                         ECLASS_MTIME + i),
            "toolchain-funcs": (fresh("/usr/portage/eclass/toolchain.eclass#", str(i)),
                                ECLASS_MTIME - i),
        },
    }
    p = package(cpv, data)
    p.__dict__  # materialize: 3.11+ keeps attributes inline until asked
    return p


# ------------------------------------------------------------------ facts

class Graph:
    """Every object the gc lists and the gc.get_referents closure reach,
    with the reverse edges.  Holds the objects in one list (self.objs) and
    nothing else: ids and indices only, so the analysis adds exactly one
    reference to each object (checked by calibrate())."""

    def __init__(self):
        gc.collect()
        objs = gc.get_objects()
        index = {id(o): k for k, o in enumerate(objs)}
        k = 0
        while k < len(objs):
            for r in referents(objs[k]):
                if id(r) not in index:
                    index[id(r)] = len(objs)
                    objs.append(r)
            k += 1
        r = None
        rev = [[] for _ in objs]
        for k in range(len(objs)):
            for r in referents(objs[k]):
                rev[index[id(r)]].append(k)
        r = None
        self.objs, self.index, self.rev = objs, index, rev
        self.extra = 0
        self.extra = self.refcount(self.index[id(PROBE[0])]) - 1

    def refcount(self, k):
        """References to objs[k] that are not the analysis's own."""
        return sys.getrefcount(self.objs[k]) - self.extra

    def check_exclusive(self, ks, what):
        """Every reference to each objs[k] is an edge gc reports."""
        for k in ks:
            if self.refcount(k) != len(self.rev[k]):
                o = self.objs[k]
                raise SystemExit("pkgcore_target: %s: %s at %#x has %d references, gc "
                                 "shows %d referrers %r" % (
                                     what, type(o).__name__, id(o), self.refcount(k),
                                     len(self.rev[k]),
                                     [type(self.objs[r]).__name__ for r in self.rev[k]]))

    def dominated(self, start):
        """heapy's dominos of the objects objs[k], k in start: those objects
        and everything reachable from them all of whose referrers are
        dominated.  Exact for what is below start here (no cycles below
        it), and every member's references are checked."""
        dom = set(start)
        work = list(start)
        while work:
            k = work.pop()
            for r in referents(self.objs[k]):
                j = self.index[id(r)]
                if j not in dom and all(x in dom for x in self.rev[j]):
                    dom.add(j)
                    work.append(j)
            r = None
        self.check_exclusive(sorted(dom), "dominated object")
        return dom

    def size(self, ks):
        return sum(sys.getsizeof(self.objs[k]) for k in ks)

    def figures(self, ks):
        return {"count": len(ks), "size": self.size(ks)}


def clodo(o):
    """heapy's byclodo kind of a referrer, as far as these facts need it."""
    if type(o) is dict:
        return "dict"
    return type(o).__name__


def facts(wdir):
    mod = sys.modules["pkgcore"]
    g = Graph()
    objs, index, rev = g.objs, g.index, g.rev
    pkgs = [index[id(p)] for p in mod.PKGS]
    pkgdicts = [index[id(objs[k].__dict__)] for k in pkgs]
    if sys.version_info >= (3, 13):
        # 3.13's traverse of an instance whose values are inline visits
        # the values even once its __dict__ is made, never the dict: the
        # package's reference to its dict is one gc does not report
        for k, d in zip(pkgs, pkgdicts):
            if k not in rev[d]:
                rev[d].append(k)
    datas = [index[id(objs[k].data)] for k in pkgs]
    cpvs = [index[id(objs[k].cpv)] for k in pkgs]
    cpvset = set(cpvs)
    f = {
        "python": sys.version,
        "n_pkg": len(pkgs),
        "package": g.figures(pkgs),
        "CPV": g.figures(cpvs),
        "dict_of_package": g.figures(pkgdicts),
        "data_dicts": g.figures(datas),
        "pkg_index_by_address": {str(id(objs[k])): i for i, k in enumerate(pkgs)},
        "cpv_addresses": sorted(id(objs[k]) for k in cpvs),
    }
    g.check_exclusive(pkgdicts + datas + cpvs, "package dict, data dict or CPV")

    # h.byrcs: the objects every referrer of which is a CPV (the tutorial's
    # byrcs[5]), and those referred to by CPVs and a list (FEATURED keys).
    slot_values = sorted({index[id(getattr(objs[k], s))] for k in cpvs for s in CPV_SLOTS
                          if getattr(objs[k], s) is not None})
    only_cpv = [k for k in slot_values if rev[k] and all(r in cpvset for r in rev[k])]
    cpv_and_list = [k for k in slot_values
                    if {clodo(objs[r]) for r in rev[k]} == {"CPV", "list"}]
    g.check_exclusive(only_cpv + cpv_and_list, "CPV slot value")

    def vias(k):
        """The via labels of objs[k], all of whose referrers are CPVs or lists."""
        labels = set()
        for r in rev[k]:
            src = objs[r]
            if r in cpvset:
                labels.update("." + s for s in CPV_SLOTS if getattr(src, s) is objs[k])
            else:
                labels.update("[%d]" % i for i, x in enumerate(src) if x is objs[k])
        return frozenset(labels)

    by_via = {}
    for k in only_cpv:
        by_via.setdefault(vias(k), []).append(k)
    sizes = {}
    for k in only_cpv:
        sizes.setdefault(sys.getsizeof(objs[k]), []).append(k)
    biggest = max(only_cpv, key=lambda k: sys.getsizeof(objs[k]))
    if len(sizes[sys.getsizeof(objs[biggest])]) != 1:
        raise SystemExit("pkgcore_target: the largest CPV-only str is not unique")
    key_only = frozenset([".key"])
    f["rcs_cpv"] = dict(g.figures(only_cpv),
                        addresses=sorted(id(objs[k]) for k in only_cpv),
                        bysize={str(s): len(ks) for s, ks in sizes.items()},
                        byvia=[[sorted(v), g.figures(ks)["count"], g.figures(ks)["size"]]
                               for v, ks in sorted(by_via.items(), key=lambda t: sorted(t[0]))],
                        biggest={"address": id(objs[biggest]),
                                 "size": sys.getsizeof(objs[biggest]),
                                 "value": objs[biggest][:40]})
    f["rcs_cpv_list"] = g.figures(cpv_and_list)
    # Via(...).alt(op) on byrcs[5] (| the FEATURED row for '>' and '>='):
    # heapy's `<` is a proper subset of the incoming-relation set, `>` a
    # proper superset (NyObjectClassifier_Compare).  The tutorial's
    # Via('.key').alt('<') selects nothing here, so a Via of two labels
    # carries the '<' check: the versioned keys (.key) and cpvstrs
    # (.cpvstr) are proper subsets of {.key, .cpvstr}; the unversioned
    # packages' keys, held as both, are not.
    key_pair = frozenset([".key", ".cpvstr"])
    both = only_cpv + cpv_and_list
    f["via_key_lt"] = g.figures([k for k in only_cpv if vias(k) < key_only])
    f["via_key_gt"] = g.figures([k for k in both if vias(k) > key_only])
    f["via_key_ge"] = g.figures([k for k in both if vias(k) >= key_only])
    pair = {op: [k for k in only_cpv if cmp(vias(k), key_pair)]
            for op, cmp in (("<", frozenset.__lt__), ("<=", frozenset.__le__),
                            ("==", frozenset.__eq__))}
    if not (pair["<"] and pair["=="] and len(pair["<"]) + len(pair["=="]) == len(pair["<="])):
        raise SystemExit("pkgcore_target: Via('.key', '.cpvstr') does not split byrcs[5] "
                         "into nonempty '<' and '==' parts: %r"
                         % {op: len(ks) for op, ks in pair.items()})
    f["via_pair_lt"] = g.figures(pair["<"])
    f["via_pair_le"] = g.figures(pair["<="])
    f["not_via_key"] = g.figures([k for k in only_cpv if vias(k) != key_only])
    f["via_key_only"] = g.figures(by_via.get(key_only, []))

    # h & hp.Via("['data']") (or '.data'): the objects held only under
    # the name data: the packages' data dicts and CACHE's own .data dict
    f["via_data"] = g.figures(datas + [index[id(mod.CACHE.data)]])

    # Who holds the data dicts: the package dicts, made over the
    # attributes (on 3.13 they stay inline in the package even then, and
    # the dict holds them there: referents() says so where 3.13.0's
    # traverse does not).
    pkgset, pdset = set(pkgs), set(pkgdicts)
    for held_by, holders in (("dict of package", pdset), ("package", pkgset)):
        if all(rev[k] and all(r in holders for r in rev[k]) for k in datas + cpvs):
            f["data_held_by"] = held_by
            break
    else:
        raise SystemExit("pkgcore_target: the data dicts and CPVs are held neither by the "
                         "package dicts alone nor by the packages alone")

    # t = h[dict (no owner)].byrcs[dict of package].referrers.byrcs: the
    # package dicts, referred to by their packages as '.__dict__'.
    if not all(len(rev[k]) == 1 and rev[k][0] in pkgset for k in pkgdicts):
        raise SystemExit("pkgcore_target: a package dict has a referrer besides its package")
    dom = g.dominated(pkgdicts)
    f["t0_domisize"] = g.size(dom)
    f["t0_dominos_count"] = len(dom)
    # t[0].referents.byvia rows "['data']" and "['cpv']": referred to only
    # by package dicts, under that key.
    rows = {}
    for k in sorted({index[id(v)] for d in pkgdicts for v in objs[d].values()}):
        if rev[k] and all(r in pdset for r in rev[k]):
            labels = frozenset("[%r]" % key for r in rev[k]
                               for key, v in objs[r].items() if v is objs[k])
            rows.setdefault(labels, []).append(k)
    f["t0_referents_byvia"] = {"['data']": g.figures(rows.get(frozenset(["['data']"]), [])),
                               "['cpv']": g.figures(rows.get(frozenset(["['cpv']"]), []))}

    # h.bymodule: the modules made after setrelheap (pkgcore and NEW_MODULE);
    # h & hp.Module(NEW_MODULE) is sys.modules[NEW_MODULE], as in heapy.
    f["modules_new"] = [m for m in module_objects(objs) if m[1] not in STAGE1_MODULES]
    if NEW_MODULE not in [m[0] for m in f["modules_new"]]:
        raise SystemExit("pkgcore_target: %s was imported before stage 2" % NEW_MODULE)
    new = sys.modules[NEW_MODULE]
    f["module_chosen"] = {"name": NEW_MODULE, "address": id(new),
                          "size": sys.getsizeof(new)}

    # The chosen package's data dict: what it alone keeps alive.
    chosen = datas[CHOSEN_PKG]
    dom = g.dominated([chosen])
    f["reused_address"] = REUSED_AT[0]
    f["chosen"] = {"index": CHOSEN_PKG, "data_address": id(objs[chosen]),
                   "cpv_address": id(objs[cpvs[CHOSEN_PKG]]),
                   "pkgdict_address": id(objs[pkgdicts[CHOSEN_PKG]]),
                   "holder_address": id(objs[pkgdicts[CHOSEN_PKG]]
                                        if f["data_held_by"] == "dict of package"
                                        else objs[pkgs[CHOSEN_PKG]]),
                   "domisize": g.size(dom),
                   "dominos": sorted(id(objs[k]) for k in dom),
                   "dominos_types": sorted(type(objs[k]).__name__ for k in dom)}
    write_atomically(os.path.join(wdir, "facts.json"), json.dumps(f, indent=1))


# ------------------------------------------------------------------ stages

def on_usr2(signum, frame):
    pass


def stop_for_gdb():
    """Stop here for gdb (see the module docstring); harmless without it."""
    os.kill(os.getpid(), signal.SIGUSR2)


def main(wdir):
    signal.signal(signal.SIGUSR2, on_usr2)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    BEFORE.extend(Before(i) for i in range(N_BEFORE))
    REUSED.append(fresh("r" * 5, "e" * 5))
    gc.collect()
    modules = module_objects(gc.get_objects())
    STAGE1_MODULES.update(m[1] for m in modules)
    write_atomically(os.path.join(wdir, "facts1.json"), json.dumps({
        "Before": {"count": N_BEFORE, "size": sum(sys.getsizeof(b) for b in BEFORE)},
        "modules": modules, "sys_address": id(sys), "pid": os.getpid()}))
    modules = None
    write_atomically(os.path.join(wdir, "ready"), "ready\n")
    signal.sigwait({signal.SIGUSR1})

    REUSED_AT.append(reuse_address())
    # strs of every small size, made before the packages' and kept: a
    # block `old` held and freed since (3.15 under CI's load frees a str
    # there, of the size of the first package's cpvstr) goes to one of
    # these, not to a str the tests count as new
    ABSORB.extend(fresh("a" * (1 + n % 97), "b" * (1 + n // 97)) for n in range(97 * 8))
    build()
    facts(wdir)
    gc.collect()
    stop_for_gdb()

    signal.sigwait({signal.SIGUSR1})
    mod = sys.modules["pkgcore"]
    ok = len(mod.PKGS) == N_NAMES * N_VERSIONS and len(mod.CACHE) == len(mod.PKGS)
    print("pkgcore_target: done, ok=%s" % ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
