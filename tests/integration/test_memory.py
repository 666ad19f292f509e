"""test_memory.py — hp.memory(): where the process's memory goes
(issue 9), against what the process says of itself.

For each interpreter:
GIVEN targets/memory_target.py: 100,000 dicts, a 3 MiB + 28 KiB
      anonymous mmap.mmap it wrote to, three threads waiting (one
      2000 Python calls deep); its last
      step before pausing was sys._debugmallocstats() (into a file),
WHEN  gdb captures it and asks `hp.memory()` (gdb_memory.py), then the
      same on a gcore of it,
THEN  pymalloc's figures are exactly the process's own: arenas (current,
      total, reclaimed, highwater, bytes), bytes in allocated and
      available blocks, unused pools, pool headers, quantization, arena
      alignment — where remora can read them: 3.8-3.11 need symbols
      (the state is static), free-threaded builds use mimalloc, and
      hp.memory() says so in one line;
AND   what its lists, dicts, sets, bytearrays, arrays, deques and BytesIO
      own outside themselves (hp.iso(them).owned) is what the target
      counts: getsizeof less __basicsize__ and the GC header;
AND   the interpreter and thread states and 3.11+'s frame stacks are
      what gdb reads with the debug info (where there is one: the
      states' sizes, which are static, the chunks' sizes); a state for
      each thread, the deep thread's frames in the stacks (3.11+) or
      among the frame objects; the code objects the target finds among
      the heap's;
AND   the heap's objects are split between the arenas and the rest
      without one lost; the mmap.mmap map is counted at its length, all
      of it resident; there is a thread stack for each of the 3 threads;
      and (live) the total is the process's resident size as
      /proc/PID/smaps_rollup gives it once gdb has let it go;
AND   the target exits 0 after.
"""

import os
import re
import signal

import harness
from harness import Target, TargetError

GDB_SCRIPT = os.path.join(harness.HERE, "gdb_memory.py")
SYS_PAUSE = 34

# sys._debugmallocstats()'s lines: label -> remora's pymalloc figure
STATS = {
    "# arenas allocated total": "arenas_allocated_total",
    "# arenas reclaimed": "arenas_reclaimed",
    "# arenas highwater mark": "arenas_highwater",
    "# arenas allocated current": "arenas",
    "# bytes in allocated blocks": "allocated_blocks",
    "# bytes in available blocks": "available_blocks",
    "# bytes lost to pool headers": "pool_headers",
    "# bytes lost to quantization": "quantization",
    "# bytes lost to arena alignment": "arena_alignment",
}
LINE = re.compile(r"^(.*?)\s*=\s*([\d,]+)$")


def parse_stats(text):
    """{figure name: value} of the pymalloc totals, up to the first Total."""
    out = {}
    for line in text.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        label, value = m.group(1), int(m.group(2).replace(",", ""))
        if label == "Total":
            break
        if label in STATS:
            out[STATS[label]] = value
        m2 = re.match(r"^(\d+) unused pools \* (\d+) bytes$", label)
        if m2:
            out["unused_pools"], out["pool_size"] = int(m2.group(1)), int(m2.group(2))
        m2 = re.match(r"^(\d+) arenas \* (\d+) bytes/arena$", label)
        if m2:
            out["arena_bytes"] = value
    return out


def expected_refusal(it):
    """The words hp.memory() must say instead of pymalloc's figures, or None."""
    if it.free_threaded:
        return "mimalloc"
    if it.version < (3, 12) and not it.debug_info:
        return "symbols hide"
    return None


def rss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Rss:"):
                return int(line.split()[1]) * 1024
    return None


def run_gdb(it, wdir, target, core=None):
    out = os.path.join(wdir, "memory-%s.json" % ("core" if core else "live"))
    return harness.run_gdb_script(GDB_SCRIPT, it, target, out, core)


def check(tap, name, it, facts, stats, g, res):
    if not tap.ok("%s: gdb ran its commands" % name, g.ok() and res.get("ok"),
                  lambda: "%s\n%s" % (res.get("error"), g.report())):
        return
    fig = res.get("json") or {}
    table = res.get("table") or ""
    refusal = expected_refusal(it)
    if refusal is not None:
        why = fig.get("pymalloc_error") or ""
        tap.ok("%s: pymalloc's figures: one line says ...%s..." % (name, refusal),
               refusal in why and "\n" not in why and why in table, why or table)
    else:
        pm = fig.get("pymalloc") or {}
        got = {k: pm.get(k) for k in stats}
        tap.equal("%s: pymalloc's figures are the process's own _debugmallocstats" % name,
                  got, stats, table)
        tap.ok("%s: the heap's objects split between arenas and the rest, none lost" % name,
               pm.get("objects", 0) + fig["objects_outside_pymalloc"]["objects"]
               == res.get("heap_count") and pm.get("objects", 0) > 100000, table)
    mm = fig.get("mmap") or {}
    tap.equal("%s: the mmap.mmap map, at its length, all resident" % name,
              [mm.get("objects"), mm.get("mapped"), mm.get("resident")],
              [1, facts["mmap_bytes"], facts["mmap_bytes"]], table)
    tap.equal("%s: a thread stack for each thread" % name, fig.get("thread_stack_threads"),
              facts["threads"], table)
    tap.equal("%s: what its containers own outside themselves (.owned) is what the "
              "target counts" % name, (res.get("owned") or {}).get("repr"),
              str(facts["owned"]), res.get("owned"))
    check_structures(tap, name, it, facts, res)
    parts = ["thread_stacks", "files", "kernel", "anonymous"]
    tap.equal("%s: the parts add up to the total" % name,
              sum(fig.get(k, 0) for k in parts), fig.get("total"), table)


def check_structures(tap, name, it, facts, res):
    """The interpreter structures: the debug info's (as gdb reads it)
    where there is one; the target's threads, frames and code always."""
    fig = res.get("json") or {}
    table = res.get("table") or ""
    st = fig.get("interpreter") or {}
    objects = fig.get("objects") or {}
    if not tap.ok("%s: the interpreter structures are read" % name, st,
                  fig.get("interpreter_error") or table):
        return
    dwarf = res.get("dwarf")
    if it.debug_info and tap.ok("%s: gdb read the states from the debug info" % name,
                                dwarf is not None, res.get("dwarf_error")):
        tap.equal("%s: interpreter and thread states, frame stacks: what the debug info "
                  "says" % name, {k: st.get(k) for k in dwarf}, dwarf, table)
    tap.equal("%s: a thread state for each of the target's threads" % name,
              st.get("threads"), facts["threads"], table)
    tap.equal("%s: the row is its parts' sum" % name, st.get("bytes"),
              st.get("interpreter_states", 0) + st.get("thread_states", 0)
              + (st.get("frame_stacks") or 0), table)
    if it.version >= (3, 11):
        # each of the deep thread's frames holds at least 7 words
        tap.ok("%s: the frame stacks hold the deep thread's %d frames" % (name, facts["depth"]),
               (st.get("frame_stacks") or 0) >= facts["depth"] * 56
               and st.get("frame_stack_chunks", 0) >= 2, table)
    else:
        tap.ok("%s: the deep thread's %d frames are among the frame objects"
               % (name, facts["depth"]), objects.get("frame_objects", 0) >= facts["depth"],
               table)
    tap.ok("%s: the code objects include the %d the target finds (%d bytes)"
           % (name, facts["code_objects"], facts["code_bytes"]),
           objects.get("code_objects", 0) >= facts["code_objects"]
           and objects.get("code_bytes", 0) >= facts["code_bytes"], table)


def check_interpreter(tap, it):
    name = "memory %s" % it.name
    wdir = harness.workdir("memory", it.name)
    with Target.python(it, "memory_target.py", wdir) as target:
        try:
            target.wait_ready()
            target.wait_in_syscall(SYS_PAUSE)
        except TargetError as exc:
            tap.fail("%s: target starts and pauses" % name, str(exc))
            return
        facts = target.json("facts.json")
        with open(target.path("mallocstats.txt")) as f:
            stats = parse_stats(f.read())
        if expected_refusal(it) is None and not tap.ok(
                "%s: the target's _debugmallocstats has pymalloc's totals" % name,
                len(stats) == len(STATS) + 3, repr(stats)):
            return
        g, res = run_gdb(it, wdir, target)
        check(tap, name, it, facts, stats, g, res)
        if res.get("ok"):
            tap.equal("%s: the total is the process's resident size (smaps_rollup, after)"
                      % name, (res.get("json") or {}).get("total"), rss(target.pid),
                      res.get("table"))
        core = os.path.join(wdir, "memory.core")
        harness.run_gdb(["gcore " + core, "detach"], pid=target.pid, load_remora=False)
        if tap.ok("%s: gcore made a core" % name, os.path.exists(core)):
            g, res = run_gdb(it, wdir, target, core)
            check(tap, name + " (core)", it, facts, stats, g, res)
            os.unlink(core)
        target.send(signal.SIGUSR1)
        tap.equal("%s: target exits 0 after detach" % name, target.wait_exit(60), 0,
                  target.output())


def main():
    return harness.run_per_interpreter("test_memory", "memory", check_interpreter)


if __name__ == "__main__":
    raise SystemExit(main())
