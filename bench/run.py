"""bench/run.py — remora's capture + default partition against the in-process
baseline, on one ~1.2M-object target, in one run.  `make bench` runs it.

1. Start bench/target.py (200k records, six objects each) under Debian's
   python3.11 (REMORA_BENCH_PYTHON to change, REMORA_BENCH_RECORDS for N).
2. Reset the target's peak RSS (echo 5 > /proc/PID/clear_refs), note VmRSS.
3. Attach gdb, source remora.py and bench/gdb_bench.py: `py-heap` timed with
   time.perf_counter inside gdb; detach.
4. Peak transient memory remora used in the target: VmHWM - VmRSS before
   (and the agent's own peak mapped bytes, from remora.capture.last_result).
5. The `remora` command on the same target: `remora snapshot`'s pause,
   `remora load` and each `remora export` format (against the load).
6. SIGUSR1: the target runs the baseline (gc.get_objects + get_referents
   closure + sys.getsizeof by type) on itself and reports its time.
Prints both times and their ratio; then the same heap's py-heap on every
interpreter the tests find, each against 3.12's (REMORA_BENCH_VERSIONS=0
skips that); writes bench/results.json in the build tree.  Exits non-zero
if either side failed.
"""

import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

PYTHON = os.environ.get("REMORA_BENCH_PYTHON", "/usr/bin/python3.11")
RECORDS = int(os.environ.get("REMORA_BENCH_RECORDS", "200000"))


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


FIRST_TOUCH_MIB = 256
# Some machines (virtual ones) back a page with host memory only when it
# is first touched, at a few hundred MB/s: a first py-heap then pays for
# the new memory gdb touches, whatever remora does.  MiB to touch (and
# free) before gdb starts, so that the first py-heap times remora alone.
PREFAULT_MIB = int(os.environ.get("REMORA_BENCH_PREFAULT_MIB", "0"))

TOUCH = """
import mmap, sys, time
n = int(sys.argv[1]) << 20
t = time.perf_counter()
m = mmap.mmap(-1, n)
for off in range(0, n, mmap.PAGESIZE):
    m[off] = 1
print(time.perf_counter() - t)
"""


def touch(n_mib):
    """Seconds a new process takes to touch n_mib MiB of new memory."""
    import subprocess
    out = subprocess.run([sys.executable, "-c", TOUCH, str(n_mib)], check=True,
                         capture_output=True, text=True).stdout
    return float(out)


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0) if kib is not None else "?"


def main():
    harness.install_cleanup()
    wdir = harness.workdir("bench", "py")
    out_dir = os.path.join(harness.TOP_BUILDDIR, "bench")
    os.makedirs(out_dir, exist_ok=True)
    interp = harness.Interp("bench", PYTHON)
    target = harness.Target([PYTHON, os.path.join(HERE, "target.py"), wdir, str(RECORDS)],
                            wdir)
    with target:
        t0 = time.monotonic()
        target.wait_ready(timeout=600)
        info = target.json("ready")
        print("bench: %s, %d records, %d gc-tracked objects (built in %.1fs)"
              % (interp.path, info["records"], info["gc_objects"], time.monotonic() - t0))

        hwm_reset = True
        try:
            with open("/proc/%d/clear_refs" % target.pid, "w") as f:
                f.write("5")
        except OSError as exc:
            hwm_reset = False
            print("bench: cannot reset the target's peak RSS (%s); peak is since start" % exc)
        rss0 = status_kib(target.pid, "VmRSS")

        if PREFAULT_MIB:
            print("bench: touched %d MiB of new memory first (REMORA_BENCH_PREFAULT_MIB) in "
                  "%.1fs" % (PREFAULT_MIB, touch(PREFAULT_MIB)))
        touch_rate = FIRST_TOUCH_MIB / touch(FIRST_TOUCH_MIB)

        gout = os.path.join(wdir, "gdb.json")
        core = os.path.join(wdir, "bench.core")
        g = harness.run_gdb(["source " + os.path.join(HERE, "gdb_bench.py"), "detach"],
                            pid=target.pid, timeout=1800,
                            env={"REMORA_BENCH_OUT": gout, "REMORA_BENCH_CORE": core})
        hwm = status_kib(target.pid, "VmHWM")
        rss1 = status_kib(target.pid, "VmRSS")
        remora = {}
        if os.path.exists(gout):
            with open(gout) as f:
                remora = json.load(f)
        if not remora.get("ok"):
            print("bench: remora FAILED: %s" % remora.get("error", "no result"))
            print(g.report())

        core_result = {}
        if os.path.exists(core):
            cout = os.path.join(wdir, "core.json")
            harness.run_gdb(["source " + os.path.join(HERE, "gdb_bench_core.py")],
                            args=[interp.path, core], timeout=1800,
                            env={"REMORA_BENCH_OUT": cout})
            if os.path.exists(cout):
                with open(cout) as f:
                    core_result = json.load(f)
            os.unlink(core)

        commands = command_figures(target.pid, wdir)

        target.send(signal.SIGUSR1)
        rc = target.wait_exit(1800)
        base = target.json("baseline.json") if rc == 0 else {}
        if rc != 0:
            print("bench: baseline FAILED (target exit %s):\n%s" % (rc, target.output()))

    lr = remora.get("last_result") or {}
    results = {
        "python": interp.path, "records": info["records"], "gc_objects": info["gc_objects"],
        "remora_seconds": remora.get("seconds"), "remora_ok": remora.get("ok", False),
        "remora_warm": remora.get("warm"), "remora_graph": remora.get("graph"),
        "remora_outside_seconds": remora.get("outside"), "remora_core": core_result,
        "remora_size_models": remora.get("size_models"),
        "remora_error": remora.get("error"),
        "remora_capture": lr, "gdb_session_seconds": g.seconds,
        "first_touch_mib_per_s": touch_rate, "prefault_mib": PREFAULT_MIB,
        "gdb_maxrss_kib": remora.get("gdb_maxrss_kib"),
        "gdb_maxrss_first_kib": remora.get("gdb_maxrss_first_kib"),
        "gdb_maxrss_warm_kib": remora.get("gdb_maxrss_warm_kib"),
        "target_rss_before_kib": rss0, "target_hwm_during_kib": hwm,
        "target_rss_after_kib": rss1, "hwm_reset": hwm_reset,
        "baseline_seconds": base.get("seconds"), "baseline_objects": base.get("objects"),
        "baseline_size": base.get("size"), "baseline_top": base.get("top"),
    }
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)

    print()
    if remora.get("ok"):
        header = (remora.get("text") or "").strip().splitlines()[:1]
        print("remora   py-heap (capture + default partition), timed in gdb: %7.2f s"
              % remora["seconds"])
        if lr:
            inject, walk = lr.get("inject_seconds", 0), lr.get("walk_seconds", 0)
            total = lr.get("total_seconds", inject + walk)
            print("           in the target %.2f s (inject %.2f s, agent walk %.2f s, unload "
                  "%.2f s; the agent stopped for gdb %s times, all slots full);"
                  % (total, inject, walk, total - inject - walk, lr.get("stops", "?")))
            print("           in gdb %.2f s (layout, safety checks, engine load, partition, "
                  "table)" % (remora["seconds"] - total))
            print("           %s nodes, %s edges, snapshot %s bytes"
                  % (lr.get("nodes"), lr.get("edges"), lr.get("bytes_written")))
            before, first = remora.get("gdb_maxrss_before_kib"), remora.get("gdb_maxrss_first_kib")
            if before and first:
                new_mib = (first - before) / 1024.0 + (lr.get("bytes_written") or 0) / 2.0 ** 20
                print("           new memory touched: %.0f MiB (gdb's peak grew %.0f MiB, and the "
                      "snapshot file); a new process touched new memory at %.0f MiB/s just "
                      "before%s" % (new_mib, (first - before) / 1024.0, touch_rate,
                                    "" if PREFAULT_MIB else " (where that is slow, "
                                    "REMORA_BENCH_PREFAULT_MIB=N times remora alone)"))
        if header:
            print("           %s" % header[0])
        warm = remora.get("warm") or []
        if warm:
            best = min(warm, key=lambda w: w["seconds"])
            print("remora   again, warm (best of %d): %.2f s = capture %.2f s (agent walk %.2f s,"
                  " %s stops) + engine load %.2f s + partition and table %.2f s"
                  % (len(warm), best["seconds"], best["capture"], best["walk"],
                     best.get("stops", "?"), best["load"], best["partition"]))
    graph = remora.get("graph") or {}
    if graph:
        base_t = graph.get("default") or 0
        goals = (("byrcs", "h.byrcs (builds the referrer index)", 0.5, 3.4),
                 ("byvia", "h.byvia (whole heap)", 1.0, 39.0),
                 ("domisize", "h[0].domisize", 0.2, 0.5),
                 ("dominator_tree", "dominator tree + retained sizes", 1.5, None),
                 ("byretained", "h.byretained table (tree built)", None, None),
                 ("sp", "h.byid[0].sp", 0.2, 1.4))
        print("graph    queries on the warm heap (the default table took %.2f s):" % base_t)
        for key, what, goal, heapy in goals:
            if key not in graph:
                continue
            t = graph[key]
            print("         %-38s %6.2f s (%5.1fx the default table)%s%s"
                  % (what, t, t / base_t if base_t else 0,
                     "  goal < %.1f s: %s" % (goal, "met" if t < goal else "MISSED")
                     if goal else "",
                     "  heapy ~%.1f s (PERF-NOTES, not run here)" % heapy
                     if heapy else ""))
    if remora.get("ok") and remora.get("warm") and remora.get("outside"):
        inj = min(w["capture"] for w in remora["warm"])
        print("capture  injected %.2f s | from outside (/proc/PID/mem) %.2f s (%.2fx) | "
              "from a core %s" % (
                  inj, remora["outside"], remora["outside"] / inj,
                  "%.2f s first, %.2f s again (%.2fx)" % (
                      core_result["first"], core_result["best"], core_result["best"] / inj)
                  if core_result.get("ok") else "FAILED: %s" % core_result.get("error")))
    sm = remora.get("size_models")
    if sm:
        print("size     models (extension types' own sizes, NyHeapDef): agent walk %.3f s with, "
              "%.3f s without (%.2fx; goal <= 1.10x), best of 3 each, alternately"
              % (sm["with"], sm["without"], sm["with"] / sm["without"]))
    if base:
        print("baseline gc.get_objects + get_referents closure + getsizeof by type,")
        print("         in the target:                                      %7.2f s"
              % base["seconds"])
        print("           %d objects, %d bytes" % (base["objects"], base["size"]))
    if remora.get("ok") and base:
        print("ratio    baseline / remora:                                  %7.2fx"
              % (base["seconds"] / remora["seconds"]))
        warm = remora.get("warm") or []
        if warm:
            best = min(w["seconds"] for w in warm)
            print("ratio    baseline / remora warm:                             %7.2fx"
                  % (base["seconds"] / best))
    print("memory   target peak during capture: VmHWM %s - VmRSS before %s = %s transient%s"
          % (mib(hwm), mib(rss0), mib(hwm - rss0) if hwm is not None and rss0 is not None
             else "?", "" if hwm_reset else " (peak not reset: upper bound)"))
    if lr.get("peak_mapped") is not None:
        print("         agent's own peak mapped bytes: %s" % mib(lr["peak_mapped"] / 1024.0))
    print("         target VmRSS after detach: %s; gdb peak RSS: %s"
          % (mib(rss1), mib(remora.get("gdb_maxrss_kib"))))
    nodes = lr.get("nodes") or 0
    for label, key in (("after the first py-heap", "gdb_maxrss_first_kib"),
                       ("after the warm ones", "gdb_maxrss_warm_kib")):
        kib = remora.get(key)
        if kib is not None and nodes:
            print("         gdb peak RSS %s: %s (%.0f bytes per object)"
                  % (label, mib(kib), kib * 1024.0 / nodes))
    if commands:
        results["commands"] = commands
        print_command_figures(commands)
    versions = per_version()
    results["versions"] = versions
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    print("bench: results in %s" % os.path.join(out_dir, "results.json"))
    return 0 if remora.get("ok") and base else 1


EXPORTS = ("heapsnapshot", "sqlite", "dot", "html")


def command_figures(pid, wdir):
    """The `remora` command on the same target: `remora snapshot`'s pause
    (as the command prints it), then `remora load FILE` (load + default
    partition, the baseline of this part) and each `remora export FILE`,
    wall-clock, gdb's start-up included, and the seconds the command
    says the export itself took."""
    import re
    import subprocess
    remora = os.path.join(harness.TOP_BUILDDIR, "remora")
    saved = os.path.join(wdir, "bench.remora")

    def run(*args):
        t = time.monotonic()
        r = subprocess.run([remora] + list(args), capture_output=True, text=True,
                           timeout=1800, env=harness.gdb_env())
        return r, time.monotonic() - t

    r, wall = run("snapshot", str(pid), "-o", saved)
    m = re.search(r"paused ([\d.]+) s; (\d+) objects", r.stderr)
    if r.returncode != 0 or not m:
        print("bench: remora snapshot FAILED: %s" % r.stderr.strip())
        return {}
    out = {"snapshot_pause": float(m.group(1)), "snapshot_objects": int(m.group(2)),
           "snapshot_wall": wall, "snapshot_bytes": os.path.getsize(saved)}
    r, out["load_wall"] = run("load", saved, "h")
    for fmt in EXPORTS:
        dest = os.path.join(wdir, "bench." + fmt)
        args = ["export", saved, "--format=" + fmt, "-o", dest]
        r, wall = run(*args)
        m = re.search(r"written to .* in ([\d.]+) s", r.stderr)
        out[fmt] = {"ok": r.returncode == 0, "wall": wall,
                    "seconds": float(m.group(1)) if m else None,
                    "bytes": os.path.getsize(dest) if os.path.exists(dest) else 0,
                    "error": r.stderr.strip()[-300:] if r.returncode else None}
    os.unlink(saved)
    return out


def print_command_figures(c):
    print("command  remora snapshot: the process paused %.3f s (as the command says; goal "
          "< 0.5 s), %d objects, %.0f MiB; %.2f s in all"
          % (c["snapshot_pause"], c["snapshot_objects"], c["snapshot_bytes"] / 2.0 ** 20,
             c["snapshot_wall"]))
    print("         remora load FILE h (load + default partition): %.2f s, the baseline "
          "below" % c["load_wall"])
    for fmt in EXPORTS:
        e = c.get(fmt) or {}
        if not e.get("ok"):
            print("         remora export --format=%-12s FAILED: %s" % (fmt, e.get("error")))
            continue
        print("         remora export --format=%-12s %6.2f s (%.2fx load), the export "
              "itself %.2f s (goal < 5 s), %.1f MiB"
              % (fmt, e["wall"], e["wall"] / c["load_wall"], e["seconds"] or 0,
                 e["bytes"] / 2.0 ** 20))


REFERENCE = "pyenv-3.12.1"      # issue 10: no version 1.5x slower than 3.12


def per_version():
    """The same heap on every interpreter the tests find (with and without
    debug info): py-heap's warm time each, and its ratio to 3.12's, all
    measured in this run."""
    if os.environ.get("REMORA_BENCH_VERSIONS", "1") == "0":
        return {}
    rows = {}
    for it in harness.interpreters():
        if it.skip:
            print("versions %-24s skipped: %s" % (it.name, it.skip))
            continue
        wdir = harness.workdir("bench-versions", it.name)
        gout = os.path.join(wdir, "gdb.json")
        with harness.Target.python(it, os.path.join(HERE, "target.py"), wdir,
                                   str(RECORDS)) as target:
            target.wait_ready(timeout=600)
            harness.current_interp = it
            try:
                harness.run_gdb(["source " + os.path.join(HERE, "gdb_versions.py"), "detach"],
                                pid=target.pid, timeout=1800, env={"REMORA_BENCH_OUT": gout})
            finally:
                harness.current_interp = None
        rows[it.name] = harness.load_json(gout) if os.path.exists(gout) else {
            "ok": False, "error": "gdb wrote nothing"}
    ref = rows.get(REFERENCE, {})
    ref_t = min(ref["warm"]) if ref.get("ok") else None
    print("versions py-heap (capture + default partition) on the same heap, warm best of 3:")
    for name, r in rows.items():
        if not r.get("ok"):
            print("         %-24s FAILED: %s" % (name, r.get("error")))
            continue
        t = min(r["warm"])
        ratio = t / ref_t if ref_t else None
        print("         %-24s %6.2f s (capture %5.2f s, cold %5.2f s)%s" % (
            name, t, min(r["capture"]), r["cold"],
            "  %.2fx %s%s" % (ratio, REFERENCE, "  > 1.5x: explain" if ratio > 1.5 else "")
            if ratio else ""))
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
