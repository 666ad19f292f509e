"""test_layout_tables.py — the layout tables generated from CPython's
headers are what the headers say, agree with the interpreters' own debug
info, and stand in for it (issue 10: CPython without debug info).

1. GIVEN the include directory of a CPython whose table
   src/layout_tables.c holds (pyenv's, Debian's libpython3.X-dev, those
   tests/pythons/build made),
   WHEN scripts/gen-layouts regenerates that version's table,
   THEN it is the committed one, character for character.  A free-
   threaded table whose build is not here (3.14t) is regenerated from
   the GIL build's headers with Py_GIL_DISABLED defined; where both
   builds' headers are here (3.13.5), that way gives the free-threaded
   build's own table, character for character.
2. For each interpreter with debug info, GIVEN a live target
   (targets/census_target.py: a deque, struct sequences, classes),
   THEN every offset and size layout.py reads from the DWARF equals what
   gdb's own C expression (&((T *)0)->a.b, sizeof(T)) gives;
   WHEN gdb builds the descriptor from the DWARF and again from the table
   of its version (offsets and sizes from the table; the static symbols
   a stripped file hides — subtype_dealloc, structseq_traverse,
   deque_traverse — found through the objects that hold them),
   THEN every field agrees.
3. For each interpreter without debug info (harness: Debian's with its
   -dbg files hidden, pyenv's with libpython stripped),
   GIVEN the same target,
   THEN gdb sees no DWARF for CPython's internal structs (the variant
   tests what it claims), the descriptor is built from the table, and
   it equals the descriptor of the same interpreter with debug info,
   addresses taken relative to the ELF object that holds them (but for
   static variables only a symbol table gives, SYMBOLS_ONLY: absent).
4. For each CPython the walker does not read yet but whose table is
   committed (pyenv's 3.8-3.10, issue 10), GIVEN its libpython with debug
   info (no process: gdb reads the file),
   THEN every offset and size in the table equals what layout.py reads
   from that DWARF for the same version (fields outside their version
   range absent in both), and what gdb's own C expression gives.
"""

import glob
import json
import os
import re
import subprocess
import tempfile

import harness
from harness import Tap, Target, TargetError

TABLES = os.path.join(harness.TOP_SRCDIR, "src", "layout_tables.c")
# fields only an ELF symbol table gives (byprod says so without one)
SYMBOLS_ONLY = {"RL_TM_TRACES", "RL_OBM_ARENAS", "RL_OBM_MAXARENAS", "RL_OBM_NTIMES",
                "RL_OBM_HIGHWATER"}
GEN = os.path.join(harness.TOP_SRCDIR, "scripts", "gen-layouts")
BLOCK = re.compile(r"/\* from the headers of CPython (\S+)( \(free-threaded\))? \*/\n"
                   r"static const int64_t \w+\[RL_FIELD_COUNT\] = \{\n.*?\n\};\n", re.S)

# gdb's own C expressions for the offsets and sizes a spec names (an
# oracle independent of layout.py's walk over the types' fields), put in
# both gdb scripts below
ORACLE = r"""
# (alternative, layout.py's value, gdb's C expression's value) for each
# off/size alternative of spec that gdb can evaluate
def oracle_pairs(spec):
    for alt in spec.lstrip("?").split(" | "):
        kind, _, rest = alt.strip().partition(" ")
        if kind not in ("off", "size") or "@" in rest:
            continue
        if kind == "off":
            tname, _, path = rest.rpartition(" ")
            expr = "(long)&((%s *)0)->%s" % (tname, path)
        else:
            expr = "(long)sizeof(%s)" % rest
        try:
            want = int(gdb.parse_and_eval(expr))
        except gdb.error:
            continue
        yield alt.strip(), layout.resolve(alt.strip()), want
"""

GDB_DESCRIPTOR = r"""
python
import json, os
from remora import layout, nodwarf
@ORACLE@
version = layout.python_version()
all_specs = layout.specs(version)
names = [n for n, _s in all_specs]
table = layout.table_for(version, layout.is_free_threaded())
out = {"version": version, "table": table and table[0],
       "dwarf_complete": False, "dwarf": None, "from_table": None, "finders": {}}
if layout.has_debug_info():
    values, missing = layout._from_dwarf(all_specs)
    out["dwarf_complete"] = not missing
    if not missing:
        out["dwarf"] = dict(zip(names, values))
if table:
    out["address_fields"] = [n for n, v in zip(names, table[1]) if v == layout.AT_RUN_TIME]
    values, missing = layout._from_table(all_specs, table[1])
    out["from_table"] = dict(zip(names, values))
    out["table_missing"] = missing
    by_name = dict(zip(names, values))
    for field in nodwarf.FINDERS:
        out["finders"][field] = nodwarf.find(field, by_name)
# gdb's own C expressions for the same offsets and sizes: an oracle
# independent of layout.py's walk over the types' fields
oracle, checked = {}, 0
if out["dwarf_complete"]:
    for name, spec in all_specs:
        for alt, got, want in oracle_pairs(spec):
            checked += 1
            if got != want:
                oracle[alt] = [got, want]
out["oracle_mismatches"], out["oracle_checked"] = oracle, checked
objfile = gdb.execute("info symbol (unsigned long)&'_PyRuntime'", to_string=True)
out["runtime_in"] = objfile.strip().rsplit(" of ", 1)[-1]
with open(os.environ["REMORA_TEST_OUT"], "w") as f:
    json.dump(out, f)
end
"""


GDB_DESCRIPTOR = GDB_DESCRIPTOR.replace("@ORACLE@", ORACLE)

# Part 4: the table of a version against the DWARF of its libpython,
# read from the file alone (the version given: no Py_Version before 3.11).
GDB_FILE_TABLE = r"""
python
import json, os
from remora import layout
@ORACLE@
version = int(os.environ["REMORA_TEST_VERSION"], 0)
all_specs = layout.specs(version)
table = layout.table_for(version, layout.is_free_threaded())
out = {"table": table and table[0], "differ": {}, "oracle": {}, "compared": 0,
       "checked": 0, "absent": 0}
if table:
    for (name, spec), tv in zip(all_specs, table[1]):
        if tv == layout.AT_RUN_TIME:
            continue
        try:
            dv = layout.resolve(spec)
        except KeyError:
            dv = "missing"
        out["compared"] += 1
        out["absent"] += dv == layout.ABSENT
        if dv != tv:
            out["differ"][name] = [dv, tv]
        for alt, got, want in oracle_pairs(spec):
            out["checked"] += 1
            if got != want:
                out["oracle"][alt] = [got, want]
            break
with open(os.environ["REMORA_TEST_OUT"], "w") as f:
    json.dump(out, f)
end
"""

GDB_FILE_TABLE = GDB_FILE_TABLE.replace("@ORACLE@", ORACLE)

# CPythons with a table the walker does not read yet (issue 10)
NOT_READ_YET = ((3, 8), (3, 9), (3, 10))


def blocks(text):
    return {(m.group(1), bool(m.group(2))): m.group(0) for m in BLOCK.finditer(text)}


def header_dirs():
    """{(version, free-threaded): include dir} for every CPython's headers
    this machine has."""
    cands = (glob.glob(os.path.expanduser("~/.pyenv/versions/*/include/python3.*"))
             + glob.glob("/usr/include/python3.*")
             + glob.glob(os.path.expanduser("~/.cache/remora/pythons/*/include/python3.*"))
             + glob.glob(os.path.expanduser(
                 "~/.cache/remora/roots/sid/usr/include/python3.*")))
    out = {}
    for d in cands:
        try:
            with open(os.path.join(d, "patchlevel.h")) as f:
                version = re.search(r'#define\s+PY_VERSION\s+"([^"]+)"', f.read()).group(1)
            ft = False
            cfg = os.path.join(d, "pyconfig.h")
            if os.path.exists(cfg):
                with open(cfg) as f:
                    ft = re.search(r"^#define\s+Py_GIL_DISABLED\s+1", f.read(), re.M) is not None
        except (OSError, AttributeError):
            continue
        # python3.Xd: Debian's headers of its debug (Py_DEBUG) build
        if os.path.exists(os.path.join(d, "internal")) and not d.endswith("d"):
            out.setdefault((version, ft), d)
    return out


def regenerate(tap):
    with open(TABLES) as f:
        committed = blocks(f.read())
    tap.ok("src/layout_tables.c holds tables (%s)" % ", ".join(
        v + ("t" if ft else "") for v, ft in sorted(committed)), len(committed) > 0)
    dirs = header_dirs()
    for key in sorted(committed):
        label = key[0] + ("t" if key[1] else "")
        d, forced = dirs.get(key), False
        if d is None and key[1] and (key[0], False) in dirs:
            # a free-threaded build not at hand (3.14t): its table comes
            # from the GIL build's headers with Py_GIL_DISABLED defined
            d, forced = dirs[(key[0], False)], True
        if d is None:
            tap.skip("the %s table regenerates unchanged" % label,
                     "no include directory of CPython %s here" % label)
            continue
        fresh = generate(tap, label, d, forced).get(key)
        tap.equal("the %s table regenerates unchanged (from %s%s)" % (
            label, d, ", Py_GIL_DISABLED defined" if forced else ""), fresh, committed[key])
    # what makes such a table trustworthy: where both builds' headers
    # are here, the GIL build's with Py_GIL_DISABLED give the free-
    # threaded build's own table
    both = sorted(v for v, ft in dirs if ft and (v, False) in dirs)
    if not both:
        tap.skip("a GIL build's headers with Py_GIL_DISABLED give the free-threaded table",
                 "no version with both builds' headers here (tests/pythons/build ft)")
    for v in both:
        own = generate(tap, v + "t", dirs[(v, True)], False).get((v, True))
        made = generate(tap, v + "t", dirs[(v, False)], True).get((v, True))
        tap.ok("%s's GIL headers with Py_GIL_DISABLED give %st's own table" % (v, v),
               own is not None and own == made,
               lambda: "".join(__import__("difflib").unified_diff(
                   (own or "").splitlines(True), (made or "").splitlines(True),
                   "%st headers" % v, "%s headers + Py_GIL_DISABLED" % v)))


def generate(tap, label, incdir, forced):
    """{(version, free-threaded): table text} gen-layouts makes of incdir
    (as a free-threaded build's if forced); {} if it fails."""
    with tempfile.TemporaryDirectory(prefix="remora-gen-layouts-test-") as tmp:
        out = os.path.join(tmp, "tables.c")
        r = subprocess.run([GEN, "--gdb", harness.GDB, "--out", out]
                           + (["--free-threaded"] if forced else []) + [incdir],
                           capture_output=True, text=True, env=harness.gdb_env())
        if r.returncode != 0:
            tap.fail("gen-layouts makes the %s table" % label,
                     "gen-layouts failed:\n%s%s" % (r.stdout, r.stderr))
            return {}
        with open(out) as f:
            return blocks(f.read())


def descriptor(it, wdir):
    """What GDB_DESCRIPTOR finds in a census target of interpreter it, and
    the load address of the object holding _PyRuntime."""
    with Target.python(it, "census_target.py", wdir) as target:
        target.wait_ready()
        out = os.path.join(wdir, "descriptor.json")
        script = os.path.join(wdir, "descriptor.gdb")
        with open(script, "w") as f:
            f.write(GDB_DESCRIPTOR)
        g = harness.run_gdb(["source " + script, "detach"], pid=target.pid,
                            env={"REMORA_TEST_OUT": out})
        if not g.ok() or not os.path.exists(out):
            raise TargetError("gdb failed:\n%s" % g.report())
        res = harness.load_json(out)
        res["base"] = load_base(target.pid, res["runtime_in"])
        target.send(__import__("signal").SIGUSR1)
        target.wait_exit(60)
        return res


def load_base(pid, path):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == path and int(parts[2], 16) == 0:
                return int(parts[0].split("-")[0], 16)
    return None


def with_debug_info(tap, it):
    name = "layout %s" % it.name
    res = descriptor(it, harness.workdir("layout", it.name))
    tap.ok("%s: gdb sees the DWARF of every field" % name, res["dwarf_complete"], str(res))
    tap.equal("%s: every offset and size equals gdb's own C expression for it (%d checked)"
              % (name, res.get("oracle_checked", 0)), res.get("oracle_mismatches"), {})
    if not res["table"]:
        tap.fail("%s: a layout table for this version" % name, "no table for 0x%08x"
                 % res["version"])
        return
    tap.equal("%s: the table (%s headers) leaves no field unresolved" % (
        name, res["table"]), res.get("table_missing"), [])
    dw, tb = res["dwarf"] or {}, res["from_table"] or {}
    differ = {k: (dw.get(k), tb.get(k)) for k in dw if dw.get(k) != tb.get(k)}
    tap.equal("%s: descriptor from the %s table = descriptor from DWARF (%d fields)"
              % (name, res["table"], len(dw)), differ, {})
    for field, found in sorted(res["finders"].items()):
        tap.equal("%s: %s found through memory = DWARF's" % (name, field), found, dw.get(field))


def without_debug_info(tap, it, interps):
    name = "layout %s" % it.name
    res = descriptor(it, harness.workdir("layout", it.name))
    tap.ok("%s: gdb sees no DWARF for CPython's internal structs" % name,
           not res["dwarf_complete"], str(res))
    tap.equal("%s: the %s table and the symbols resolve every field" % (
        name, res["table"]), res.get("table_missing"), [])
    # pyenv-3.12.1-stripped -> pyenv-3.12.1, sid-3.14-nodbg -> sid-3.14
    base_name = re.sub(r"-(stripped|nodbg)$", "", it.name)
    base = next((b for b in interps if b.name == base_name and not b.skip), None)
    if base is None:
        tap.skip("%s: equals %s's descriptor" % (name, base_name), "%s not tested" % base_name)
        return
    saved, harness.current_interp = harness.current_interp, base
    try:
        ref = descriptor(base, harness.workdir("layout", base.name))
    finally:
        harness.current_interp = saved
    # the fields the table leaves to run time: symbol addresses
    addrs = set(res.get("address_fields") or [])

    def rel(values, b):
        return {k: (v - b if k in addrs and v not in (-1, None) and v >= b else v)
                for k, v in values.items()}
    ours, theirs = rel(res["from_table"] or {}, res["base"]), rel(ref["dwarf"] or {}, ref["base"])
    # static variables no object leads to (tracemalloc's tables, 3.9-
    # 3.11): without a symbol table they are absent, not wrong
    differ = {k: (ours.get(k), theirs.get(k)) for k in theirs if ours.get(k) != theirs.get(k)
              and not (k in SYMBOLS_ONLY and ours.get(k) == -1)}
    tap.equal("%s: descriptor from the table = %s's from DWARF (addresses relative "
              "to their object; %s absent without symbols)" % (
                  name, base_name, ", ".join(sorted(SYMBOLS_ONLY))), differ, {})


def not_read_yet(tap):
    for minor in NOT_READ_YET:
        label = "CPython %d.%d" % minor
        libs = sorted(glob.glob(os.path.expanduser(
            "~/.pyenv/versions/%d.%d.*/lib/libpython%d.%d.so.1.0" % (minor * 2))))
        if not libs:
            tap.skip("layout %s: the table equals its DWARF" % label,
                     "no pyenv build of %s here" % label)
            continue
        lib = libs[-1]
        m = re.search(r"/versions/(\d+)\.(\d+)\.(\d+)/", lib)
        version = int(m.group(1)) << 24 | int(m.group(2)) << 16 | int(m.group(3)) << 8
        wdir = harness.workdir("layout-file", "%d.%d" % minor)
        out = os.path.join(wdir, "table.json")
        script = os.path.join(wdir, "table.gdb")
        with open(script, "w") as f:
            f.write(GDB_FILE_TABLE)
        g = harness.run_gdb(["source " + script], args=[lib],
                            env={"REMORA_TEST_OUT": out,
                                 "REMORA_TEST_VERSION": "0x%08x" % version})
        if not g.ok() or not os.path.exists(out):
            tap.fail("layout %s: gdb read %s" % (label, lib), g.report())
            continue
        res = harness.load_json(out)
        name = "layout %s (%s)" % (label, lib)
        if not tap.ok("%s: a committed table (%s headers)" % (name, res["table"]),
                      bool(res["table"])):
            continue
        tap.equal("%s: every offset and size of the table = its DWARF's (%d fields, %d "
                  "absent in both)" % (name, res["compared"], res["absent"]),
                  res["differ"], {})
        tap.equal("%s: = gdb's own C expression (%d checked)" % (name, res["checked"]),
                  res["oracle"], {})
        tap.ok("%s: the fields it has are most of them (%d of %d)" % (
            name, res["compared"] - res["absent"], res["compared"]),
            res["compared"] - res["absent"] > res["compared"] // 2)


def main():
    tap = Tap("test_layout_tables")
    regenerate(tap)
    not_read_yet(tap)
    interps = harness.interpreters()
    harness.report_interpreters(tap, interps)
    harness.each_interpreter(tap, interps, "layout", lambda tap, it: (
        with_debug_info if it.debug_info else
        lambda t, i: without_debug_info(t, i, interps))(tap, it))
    return tap.finish()


if __name__ == "__main__":
    raise SystemExit(main())
