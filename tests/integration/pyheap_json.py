"""pyheap_json.py — read `py-heap -json` output; shared by the test driver and
the scripts the tests source into gdb (so it imports nothing gdb-specific).

The format: {"type":"partition","count":N,"size":S,"kind_header":"...",
             "rows":[{"index":i,"count":c,"size":s,"label":"..."}, ...]}
"""

import ast
import json
import os
import re
import traceback


def parse_partition(text):
    """The first JSON object in TEXT (py-heap -json output), or raise ValueError."""
    if text is None:
        raise ValueError("no output")
    i = text.find("{")
    if i < 0:
        raise ValueError("no JSON object in output: %r" % text[:500])
    obj, _ = json.JSONDecoder().raw_decode(text[i:])
    if not isinstance(obj, dict) or "rows" not in obj:
        raise ValueError("not a partition: %r" % (text[:500],))
    return obj


def _bare(label):
    """'__main__.Plain' -> 'Plain'; 'dict of __main__.Mat' -> 'dict of Mat'."""
    label = label.strip()
    if label.startswith("dict of "):
        return "dict of " + _bare(label[len("dict of "):])
    return label.rsplit(".", 1)[-1] if re.match(r"^[\w.]+$", label) else label


def find_row(partition, label):
    """The row whose label is LABEL, ignoring a module prefix; or None."""
    for row in partition.get("rows", []):
        if row.get("label") == label or _bare(row.get("label", "")) == label:
            return row
    return None


def row_figures(text, label):
    """(count, size) of the row LABEL in a `py-heap -json` partition's
    text; None when the text is no partition or has no such row."""
    try:
        row = find_row(parse_partition(text), label)
    except ValueError:
        return None
    return row and (row["count"], row["size"])


def size_of_label(label):
    """bysize rows are labelled by the size in bytes; extract it."""
    m = re.search(r"\d+", str(label))
    return int(m.group(0)) if m else None


def rows_summary(partition, limit=25):
    rows = partition.get("rows", [])
    lines = ["%s: count=%s size=%s kind_header=%r"
             % (partition.get("type"), partition.get("count"), partition.get("size"),
                partition.get("kind_header"))]
    for r in rows[:limit]:
        lines.append("  [%s] count=%s size=%s %s" % (r.get("index"), r.get("count"),
                                                      r.get("size"), r.get("label")))
    if len(rows) > limit:
        lines.append("  ... %d more rows" % (len(rows) - limit))
    return "\n".join(lines)


def first_json(text):
    """The first JSON object in TEXT, or raise ValueError."""
    i = (text or "").find("{")
    if i < 0:
        raise ValueError("no JSON object in output: %r" % (text or "")[:300])
    return json.JSONDecoder().raw_decode(text[i:])[0]


def literal(obj):
    """The Python value of a -json plain value or list of them, or raise
    ValueError."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind == "list":
        return [literal(item) for item in obj.get("items", [])]
    if kind != "value":
        raise ValueError("not a plain value: %r" % (obj,))
    try:
        return ast.literal_eval(obj.get("repr"))
    except (SyntaxError, ValueError):
        raise ValueError("repr is not a literal: %r" % obj.get("repr")) from None


def report_to_out(main):
    """Runs main(result) in a gdb-sourced test script and writes result
    to $REMORA_TEST_OUT (atomically): {"ok": False, "error": the
    exception and its traceback} unless main set "ok" itself."""
    result = {"ok": False}
    try:
        main(result)
    except Exception as exc:  # noqa: BLE001 — reported by the test
        result["error"] = "%s: %s\n%s" % (type(exc).__name__, exc, traceback.format_exc())
    path = os.environ["REMORA_TEST_OUT"]
    with open(path + ".tmp", "w") as f:
        json.dump(result, f)
    os.rename(path + ".tmp", path)
