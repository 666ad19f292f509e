"""gdb_session.py — sourced into gdb (after remora.py) by test_session.py:
heapy's pkgcore tutorial session, replayed through `py-heap`.

At the start the target (targets/pkgcore_target.py) waits in stage 1.  This
script captures `old`, runs `hp.setrelheap()`, sends the target SIGUSR1 and
continues it; the target builds its packages, writes facts.json and stops
itself with SIGUSR2.  Then the tutorial's commands run, in text and in
-json form.  Rows the tutorial picks by number (byrcs[5], h[0], t[0],
refs.byvia[7]) are picked here by label from the -json partition, and the
number used is recorded.  Everything printed, or the error raised, goes to
$REMORA_TEST_OUT as JSON: {"steps": {key: step}, "picked": {...}}, a step
being {"command", "ok", "text" | "error", "seconds", "json"?, "value"?}.

The label helpers at the top import nothing from gdb: test_session.py and
gdb_holders.py use them too.
"""

import ast
import json
import os
import re
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyheap_json import first_json, literal  # noqa: E402


# ------------------------------------------------------------ label helpers

def split_top(label):
    """LABEL split at ', ' outside quotes and brackets."""
    parts, cur, depth, quote, i = [], [], 0, None, 0
    while i < len(label):
        c = label[i]
        if quote:
            cur.append(c)
            if c == "\\" and i + 1 < len(label):
                cur.append(label[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            cur.append(c)
        elif c in "([{":
            depth += 1
            cur.append(c)
        elif c in ")]}":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0 and label[i + 1:i + 2] == " ":
            parts.append("".join(cur))
            cur = []
            i += 1
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def via_parts(label):
    """The relations of a byvia row label, as a sorted list of strings:
    heapy's "'.cpvstr', '.key'" (each relation repr()ed) and a bare
    ".cpvstr, .key" both give ['.cpvstr', '.key']."""
    label = (label or "").strip()
    if label.startswith("{") and label.endswith("}"):
        label = label[1:-1]
    out = []
    for part in split_top(label):
        if part[:1] in "'\"":
            try:
                part = ast.literal_eval(part)
            except (SyntaxError, ValueError):
                pass
        out.append(part)
    return sorted(out)


def bare(kind):
    """'__main__.CPV' -> 'CPV'; 'dict of __main__.package' -> 'dict of package'."""
    kind = kind.strip()
    if kind.startswith("dict of "):
        return "dict of " + bare(kind[len("dict of "):])
    return kind.rsplit(".", 1)[-1] if re.match(r"^[\w.]+$", kind) else kind


def rcs_parts(label, strip_module=True):
    """The referrer kinds of a byrcs row label, sorted ('<Nothing>': [])."""
    label = " ".join((label or "").split())  # a wrapped label may hold newlines
    if label.startswith("{") and label.endswith("}"):
        label = label[1:-1]
    if label in ("<Nothing>", ""):
        return []
    kinds = [k.strip() for k in label.split(", ")]
    return sorted(bare(k) if strip_module else k for k in kinds)


def find(partition, match):
    """The first row of PARTITION (parsed -json) for which match(row) holds."""
    for row in (partition or {}).get("rows", []):
        if match(row):
            return row
    return None


def by_clodo(name):
    return lambda row: bare(row.get("label", "")) == name


def by_rcs(*kinds):
    want = sorted(kinds)
    return lambda row: rcs_parts(row.get("label", "")) == want


def by_via(*labels):
    want = sorted(labels)
    return lambda row: via_parts(row.get("label", "")) == want


# ------------------------------------------------------------ the session

class Session:
    """Runs py-heap commands and records what they printed."""

    def __init__(self, gdb):
        self.gdb = gdb
        self.steps = {}
        self.picked = {}

    def run(self, key, command):
        t0 = time.perf_counter()
        step = {"command": command}
        try:
            step["text"] = self.gdb.execute(command, to_string=True)
            step["ok"] = True
        except self.gdb.error as exc:
            step.update(ok=False, error=str(exc))
        except Exception as exc:  # noqa: BLE001 — reported, not raised
            step.update(ok=False, error="%s: %s" % (type(exc).__name__, exc),
                        traceback=traceback.format_exc())
        step["seconds"] = round(time.perf_counter() - t0, 3)
        self.steps[key] = step
        return step

    def json(self, key, expr):
        """`py-heap -json -- EXPR`; step["json"] is the parsed object."""
        step = self.run(key, "py-heap -json -- " + expr)
        if step["ok"]:
            try:
                step["json"] = first_json(step["text"])
            except ValueError as exc:
                step.update(ok=False, error="unparsable -json output: %s" % exc)
        return step

    def value(self, key, expr):
        """-json of a plain value ({"type": "value", "repr": ...}, or a
        {"type": "list", "items": [...]} of them); step["value"] is it,
        evaluated."""
        step = self.json(key, expr)
        if step["ok"]:
            try:
                step["value"] = literal(step["json"])
            except ValueError as exc:
                step.update(ok=False, error=str(exc))
        return step

    def pick(self, name, source_key, match, description):
        """The row index in steps[source_key]'s partition that match selects,
        recorded under picked[name]; None (and a failed step) if none."""
        step = self.steps.get(source_key, {})
        row = find(step.get("json"), match) if step.get("ok") else None
        if row is None:
            self.steps["pick " + name] = {
                "command": "(pick %s in %s)" % (description, source_key), "ok": False,
                "error": "no row %s in `%s`" % (description, step.get("command", source_key))
                         if step.get("ok") else "`%s` failed" % step.get("command", source_key)}
            return None
        self.picked[name] = {"index": row["index"], "label": row.get("label"),
                             "count": row.get("count"), "size": row.get("size")}
        return row["index"]

    def skip(self, key, why):
        self.steps[key] = {"command": key, "ok": False, "error": "not run: " + why}


def resume_target(s, gdb):
    """Stage 1 -> 2: SIGUSR1 to the target, `continue` until it stops itself
    with SIGUSR2."""
    stops = []

    def on_stop(event):
        sig = getattr(event, "stop_signal", None)
        stops.append(sig or type(event).__name__)
    gdb.events.stop.connect(on_stop)
    try:
        pid = gdb.selected_inferior().pid
        os.kill(pid, signal.SIGUSR1)
        step = s.run("continue", "continue")
    finally:
        gdb.events.stop.disconnect(on_stop)
    step["stops"] = stops
    alive = gdb.selected_inferior().pid != 0
    if step["ok"] and (not alive or "SIGUSR2" not in stops):
        step.update(ok=False, error="the target did not stop with SIGUSR2 (stops: %r, "
                    "alive: %s)" % (stops, alive))
    return step["ok"]


def session(s, gdb):
    facts_path = os.environ["REMORA_TEST_FACTS"]
    dump_path = os.environ["REMORA_TEST_DUMP"]
    gdb.execute("handle SIGUSR1 nostop noprint pass", to_string=True)
    gdb.execute("handle SIGUSR2 stop print nopass", to_string=True)

    # Stage 1: `old`, then the baseline.
    s.run("old", "py-heap old = hp.heap()")
    s.json("old_byclodo", "old.byclodo")
    s.run("old_bymodule_text", "py-heap old.bymodule")
    s.json("old_bymodule", "old.bymodule")
    s.value("old_module_sys", "(old & hp.Module('sys')).addresses")
    # kept with the workdir when the test fails: what `old` held
    s.run("old_dump", "py-heap old.dump(%r)" % (dump_path + ".old"))
    s.run("setrelheap", "py-heap hp.setrelheap()")
    if not resume_target(s, gdb):
        return
    with open(facts_path) as f:
        facts = json.load(f)

    # Stage 2: the tutorial.
    s.run("h", "py-heap h = hp.heap()")
    if facts.get("reused_address"):
        s.value("reused_in_h", "(h & hp.iso(%d)).count" % facts["reused_address"])
    s.run("h_text", "py-heap h")
    s.json("h_byclodo", "h.byclodo")
    i_str = s.pick("h str", "h_byclodo", by_clodo("str"), "'str'")
    i_dict = s.pick("h dict (no owner)", "h_byclodo", by_clodo("dict (no owner)"),
                    "'dict (no owner)'")
    i_pkg = s.pick("h package", "h_byclodo", by_clodo("package"), "'package'")
    s.json("h_type_package", "h & hp.Type('__main__.package')")

    s.run("byrcs_text", "py-heap h.byrcs")
    s.run("byrcs_bind", "py-heap byrcs = _")
    s.json("byrcs", "byrcs")
    i5 = s.pick("byrcs CPV", "byrcs", by_rcs("CPV"), "of referrers {CPV}")
    il = s.pick("byrcs CPV, list", "byrcs", by_rcs("CPV", "list"), "of referrers {CPV, list}")
    if i5 is not None:
        r5 = "byrcs[%d]" % i5
        s.run("cpv_byclodo_text", "py-heap %s.byclodo" % r5)
        s.json("cpv_byclodo", r5 + ".byclodo")
        s.json("cpv_bysize", r5 + ".bysize")
        s.run("cpv_byid_text", "py-heap %s.byid" % r5)
        s.json("cpv_byid", r5 + ".byid")
        s.run("cpv_theone_text", "py-heap %s.byid[0].theone" % r5)
        s.value("cpv_byid0_addresses", r5 + ".byid[0].addresses")
        s.run("cpv_byvia_text", "py-heap %s.byvia" % r5)
        s.json("cpv_byvia", r5 + ".byvia")
        s.run("nonkeys_bind", "py-heap nonkeys = %s & hp.Via('.key').alt('<')" % r5)
        s.run("nonkeys_text", "py-heap nonkeys")
        s.json("nonkeys", "nonkeys")
        s.run("not_via_key_text", "py-heap %s & ~hp.Via('.key')" % r5)
        s.json("not_via_key", "%s & ~hp.Via('.key')" % r5)
        s.json("via_key_only", "%s & hp.Via('.key')" % r5)
        s.json("via_pair_lt", "%s & hp.Via('.key', '.cpvstr').alt('<')" % r5)
        s.json("via_pair_le", "%s & hp.Via('.key', '.cpvstr').alt('<=')" % r5)
        if il is not None:
            s.json("via_key_gt", "(%s | byrcs[%d]) & hp.Via('.key').alt('>')" % (r5, il))
            s.json("via_key_ge", "(%s | byrcs[%d]) & hp.Via('.key').alt('>=')" % (r5, il))
        if i_str is not None:
            s.json("hstr_byrcs", "h[%d].byrcs" % i_str)
            j = s.pick("h[str].byrcs CPV", "hstr_byrcs", by_rcs("CPV"), "of referrers {CPV}")
            if j is not None:
                s.run("xor_same_text", "py-heap h[%d].byrcs[%d] ^ %s" % (i_str, j, r5))
                s.json("xor_same", "h[%d].byrcs[%d] ^ %s" % (i_str, j, r5))
                if il is not None:
                    s.json("xor_other", "h[%d].byrcs[%d] ^ byrcs[%d]" % (i_str, j, il))

    # the tutorial's hp.Via("['data']"), and 3.11+'s spelling of the same
    # relation: either finds the data dicts on every version
    s.json("via_data", "h & hp.Via(\"['data']\")")
    s.json("via_dot_data", "h & hp.Via('.data')")
    if i_dict is not None:
        s.json("hdict_byrcs", "h[%d].byrcs" % i_dict)
        held_by = facts["data_held_by"]
        k = s.pick("h[dict].byrcs " + held_by, "hdict_byrcs", by_rcs(held_by),
                   "of referrers {%s}" % held_by)
        # the tutorial's chain runs through the package dicts
        if k is not None and held_by == "dict of package":
            s.run("t_text", "py-heap h[%d].byrcs[%d].referrers.byrcs" % (i_dict, k))
            s.run("t_bind", "py-heap t = _")
            s.json("t", "t")
            t0 = s.pick("t package", "t", by_rcs("package"), "of referrers {package}")
            if t0 is not None:
                s.value("t0_domisize", "t[%d].domisize" % t0)
                s.json("t0_byvia", "t[%d].byvia" % t0)
                s.json("t0_referents_byvia", "t[%d].referents.byvia" % t0)
                s.run("refs_bind", "py-heap refs = t[%d].referents" % t0)
                s.json("refs_byvia", "refs.byvia")
                v = s.pick("refs.byvia ['cpv']", "refs_byvia", by_via("['cpv']"),
                           "referred via ['cpv']")
                if v is not None:
                    s.run("nodes5", "py-heap list(refs.byvia[%d].nodes)[:5]" % v)
                    s.value("nodes_len", "len(list(refs.byvia[%d].nodes))" % v)
                    s.value("cpv_addresses", "sorted(refs.byvia[%d].addresses)" % v)

    if i_pkg is not None:
        s.value("pkg_byid0_addresses", "h[%d].byid[0].addresses" % i_pkg)
        s.run("pkg_sp", "py-heap h[%d].byid[0].sp" % i_pkg)

    chosen = facts["chosen"]
    s.value("chosen_domisize", "hp.iso(%d).domisize" % chosen["data_address"])
    s.value("chosen_dominos", "sorted(hp.iso(%d).dominos.addresses)" % chosen["data_address"])
    s.value("cpv_referrers", "hp.iso(%d).referrers.addresses" % chosen["cpv_address"])

    # bymodule and hp.Module: the modules made after setrelheap, and one
    # that was there before (sys).
    s.run("h_bymodule_text", "py-heap h.bymodule")
    s.json("h_bymodule", "h.bymodule")
    name = facts["module_chosen"]["name"]
    s.json("h_module", "h & hp.Module(%r)" % name)
    s.value("h_module_addresses", "(h & hp.Module(%r)).addresses" % name)
    s.json("h_module_sys", "h & hp.Module('sys')")
    s.json("h_not_module", "h & hp.Module()")

    # h.diff(old): the tutorial's table (its first page shows the kinds
    # of the interpreter's own objects), its -json rows; and the table of
    # a diff whose every row the target knows.
    s.run("diff_text", "py-heap h.diff(old)")
    s.json("diff", "h.diff(old)")
    s.run("diff_kinds_text", "py-heap (h & (hp.Type('__main__.package') | "
          "hp.Type('__main__.CPV'))).diff(old & hp.Type('__main__.Before'))")
    s.run("dump", "py-heap h.dump(%r)" % dump_path)
    s.run("loaded_bind", "py-heap loaded = hp.load(%r)" % dump_path)
    s.run("loaded_text", "py-heap loaded")
    s.json("loaded", "loaded")
    s.json("loaded_byrcs", "loaded.byrcs")


def main():
    import gdb
    s = Session(gdb)
    try:
        session(s, gdb)
    except Exception as exc:  # noqa: BLE001 — the test reports it
        s.steps["script"] = {"command": "gdb_session.py", "ok": False,
                             "error": "%s: %s" % (type(exc).__name__, exc),
                             "traceback": traceback.format_exc()}
    finally:
        out = os.environ["REMORA_TEST_OUT"]
        with open(out + ".tmp", "w") as f:
            json.dump({"steps": s.steps, "picked": s.picked}, f, indent=1)
        os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
