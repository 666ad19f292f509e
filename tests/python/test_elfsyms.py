#!/usr/bin/env python3
"""test_elfsyms.py — remora's reader of ELF symbol tables
(gdb/remora/elfsyms.py), on object files gcc makes here; a TAP producer.

GIVEN an object file whose static functions link-time optimization would
have renamed (NAME.lto_priv.N, as in Debian's libpython; objcopy renames
them here) beside a global and a ".cold" part, WHEN symtab() is asked for
the names THEN it gives each renamed static under its own name, with the
value nm(1) gives, and leaves the .cold part and absent names out.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("REMORA_TOP_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "gdb", "remora"))
import elfsyms  # noqa: E402  (plain Python: needs no gdb)

SOURCE = """
static int subtype_dealloc(int x) { return x * 3 + 1; }
static int subtype_dealloc_cold(int x) { return x - 7; }
static int deque_traverse(int x) { return x ^ 5; }
int PyDict_Type[4] = {1, 2, 3, 4};
int use(int x) { return subtype_dealloc(x) + subtype_dealloc_cold(x) + deque_traverse(x); }
"""


def main():
    tools = [shutil.which(t) for t in ("gcc", "objcopy", "nm")]
    if not all(tools):
        print("1..0 # SKIP gcc, objcopy or nm missing")
        return 0
    work = tempfile.mkdtemp(prefix="remora-elfsyms-")
    n, failed = 0, 0

    def ok(desc, cond, detail=""):
        nonlocal n, failed
        n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", n, desc))
        if not cond:
            failed += 1
            for line in str(detail).splitlines():
                print("# " + line)

    try:
        src, obj = os.path.join(work, "m.c"), os.path.join(work, "m.o")
        with open(src, "w") as f:
            f.write(SOURCE)
        subprocess.run(["gcc", "-O0", "-c", src, "-o", obj], check=True)
        subprocess.run(["objcopy",
                        "--redefine-sym", "subtype_dealloc=subtype_dealloc.lto_priv.0",
                        "--redefine-sym",
                        "subtype_dealloc_cold=subtype_dealloc.lto_priv.0.cold",
                        "--redefine-sym", "deque_traverse=deque_traverse.lto_priv.12",
                        obj], check=True)
        nm = {}
        for line in subprocess.run(["nm", obj], capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            m = re.match(r"^([0-9a-f]+) \w (\S+)$", line)
            if m:
                nm[m.group(2)] = int(m.group(1), 16)
        ok("objcopy renamed the statics as LTO does", "subtype_dealloc.lto_priv.0" in nm
           and "deque_traverse.lto_priv.12" in nm, nm)
        got = elfsyms.symtab(obj, {"subtype_dealloc", "deque_traverse", "PyDict_Type",
                                   "absent_name"})
        values = {k: sorted(v for v, _f in entries) for k, entries in got.items()}
        ok("a renamed static is found under its name, at nm's value (not its .cold part)",
           values.get("subtype_dealloc") == [nm.get("subtype_dealloc.lto_priv.0")],
           "got %r, nm %r" % (values, nm))
        ok("another serial number too",
           values.get("deque_traverse") == [nm.get("deque_traverse.lto_priv.12")],
           "got %r, nm %r" % (values, nm))
        ok("a global keeps its value and no source file",
           got.get("PyDict_Type") == [(nm.get("PyDict_Type"), None)], got)
        ok("a name not in the table is not in the answer", "absent_name" not in got, got)
        ok("a local carries the file the symbol table names",
           all(f == "m.c" for _v, f in got.get("subtype_dealloc", [])), got)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("1..%d" % n)
    print("# test_elfsyms: %d passed, %d failed" % (n - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
