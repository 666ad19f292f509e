"""command.py — the `py-heap` gdb command: heapy's interactive session,
one line at a time.

  py-heap                  capture the selected inferior, bind it to `h`,
                           print it (the capture is reused while the
                           inferior has not run or changed since)
  py-heap EXPR             evaluate EXPR with `hp`, `h` and `_` (the last
                           result) in scope and print it, as a REPL would
  py-heap NAME = EXPR      bind NAME in that namespace
  py-heap -json -- EXPR    print EXPR's value as one line of JSON
  py-heap -no-inject       capture by reading the process from outside

Invariants: any failure is one line through gdb.GdbError, never a Python
traceback; the namespace persists for the gdb session; this module only
parses, orchestrates and prints (computation is in the engine).
"""

import ast
import builtins
import contextlib
import json
import re

import gdb

from . import engine, heapy, progress
from .errors import RemoraError

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*=(?!=)\s*(.*)$", re.S)


class _Namespace(dict):
    """py-heap's variables.  `h` captures on first use if no `py-heap`
    bound it yet."""

    def __missing__(self, key):
        if key == "h":
            return _current_heap()
        raise KeyError(key)


hp = heapy.hpy()
namespace = _Namespace(hp=hp, _=None)

# The last capture, valid while the inferior it came from has not run.
_cache = {"key": None, "heap": None}


def _invalidate(*_args):
    _cache["key"] = None
    _cache["heap"] = None


def _inferior_key():
    inf = gdb.selected_inferior()
    return (inf.num, inf.pid)


def _current_heap(inject=True):
    """The heap of the selected inferior: captured now, or the capture
    made since it last stopped (a capture from outside is always made
    anew when asked for)."""
    key = _inferior_key()
    if _cache["key"] != key or _cache["heap"] is None or not inject:
        _invalidate()
        # h (and _, when it is a set or table of it) stand for the
        # capture this one replaces: they go first, so that its memory,
        # unless the user kept it under another name, serves the new one
        for name in ("h", "_"):
            if isinstance(namespace.get(name), (heapy.IdSet, heapy.Partition)):
                namespace[name] = None
        heap = hp.heap(inject=inject)
        # Capturing calls into the target, which may fire `cont` events:
        # the cache is filled only once the capture is complete.
        _cache["key"] = key
        _cache["heap"] = heap
    namespace["h"] = _cache["heap"]
    return _cache["heap"]


def current_heap_if_any():
    """The capture of the selected inferior made since it last stopped,
    or None (nothing is captured)."""
    try:
        key = _inferior_key()
    except gdb.error:
        return None
    return _cache["heap"] if _cache["key"] == key else None


def current_heap():
    """The heap of the selected inferior, captured if need be."""
    return _current_heap()


def _connect_events():
    events = gdb.events
    for name in ("cont", "exited", "new_objfile", "clear_objfiles",
                 "memory_changed", "register_changed", "new_inferior",
                 "inferior_deleted"):
        registry = getattr(events, name, None)
        if registry is not None:
            registry.connect(_invalidate)
    # the memory engine.py keeps for the next capture goes with the process
    for name in ("exited", "inferior_deleted"):
        registry = getattr(events, name, None)
        if registry is not None:
            registry.connect(lambda *_args: engine.big_trim())


def _evaluate(expr):
    """EXPR's value; several statements (a; b) run in order and the last
    one's value, if it is an expression, is the result."""
    globs = {"__builtins__": builtins}
    try:
        code = compile(expr, "<py-heap>", "eval")
    except SyntaxError:
        tree = ast.parse(expr, "<py-heap>", "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<py-heap>", "exec"), globs, namespace)
        if last is None:
            return None
        code = compile(ast.Expression(last.value), "<py-heap>", "eval")
    return eval(code, globs, namespace)


def evaluate(text):
    """What `py-heap TEXT` computes: NAME = EXPR binds NAME (None), else
    TEXT's value (several statements: the last one's).  Raises what the
    expression raises (RemoraError, SyntaxError, ...)."""
    m = _ASSIGN.match(text)
    if m and not _several(text):
        name, expr = m.group(1), m.group(2).strip()
        if not expr:
            raise RemoraError("py-heap: nothing to assign to %s" % name)
        namespace[name] = _evaluate(expr)
        return None
    return _evaluate(text)


def _describe(exc):
    """One line for an unexpected exception from the user's expression."""
    text = str(exc).strip().splitlines()
    text = text[0] if text else ""
    name = type(exc).__name__
    return "py-heap: %s: %s" % (name, text) if text else "py-heap: %s" % name


def _several(text):
    """Whether text is more than one statement (a; b)."""
    try:
        return len(ast.parse(text, "<py-heap>", "exec").body) > 1
    except SyntaxError:
        return False


def _syntax_error(exc):
    """The expression's own syntax error, or one raised while evaluating
    it (heapy raises SyntaxError for a relation it cannot read)."""
    if exc.filename == "<py-heap>":
        return gdb.GdbError("py-heap: syntax error: %s" % exc.msg)
    return gdb.GdbError(_describe(exc))


@contextlib.contextmanager
def code_from_files():
    """gdb reads read-only sections (code) from the files, not from the
    process, for the time of the command: reading a page of code the
    process never ran would map it into the process (its resident size
    grows), and gdb reads code to unwind the threads remora moves.  The
    user's setting is put back after."""
    try:
        was = gdb.parameter("trust-readonly-sections")
    except (gdb.error, RuntimeError):
        yield
        return
    gdb.execute("set trust-readonly-sections on", to_string=True)
    try:
        yield
    finally:
        gdb.execute("set trust-readonly-sections %s" % ("on" if was else "off"),
                    to_string=True)


class PyHeapCommand(gdb.Command):
    """Analyse the CPython heap of the inferior the way heapy (guppy3) does.

Usage:
  py-heap                  Capture the heap of the selected inferior, bind
                           the set of all its objects to `h` and print it by
                           kind.  The capture is reused until the inferior
                           runs or changes.
  py-heap EXPR             Evaluate the Python expression EXPR and print its
                           value.  In scope: `hp` (the heapy session object),
                           `h` (the last capture) and `_` (the last result).
  py-heap NAME = EXPR      Bind NAME to the value of EXPR for later commands.
  py-heap -json -- EXPR    Print EXPR's value as JSON: a partition with all
                           its rows, the empty set, or another value's repr.
  py-heap -no-inject       Capture by reading the stopped process from
                           outside (/proc/PID/mem): no code runs in it.
                           py-heap does this by itself, after saying why,
                           when a thread is inside malloc or the dynamic
                           loader (injecting could deadlock there).
  py-heap -no-inject [-json] -- EXPR
                           The same, then EXPR on that capture (as `h`).

A set of objects prints as heapy's partition table.  Useful attributes:
  .count .size             number of objects, total bytes
  .owned                   of .size, the bytes the objects own outside
                           themselves (items, keys, tables, buffers; and
                           inline attribute values, which .size leaves out)
  .byclodo .bytype         the set partitioned by kind (default; dicts by
                           owner) or by type
  .bysize .byunity         ... by individual size, or as a single row
  [i]  [i:j]               the objects of row i (or rows i..j-1)
  .referents .referrers    the objects the set's objects refer to, or that
                           refer to them (the first .referrers on a capture
                           indexes its references: 4 bytes per object and
                           per reference, kept with the capture)
  .more  .all              the next 10 rows, or every row
  .byrcs .byvia            ... by the kinds of the referrers, or by the
                           relations they hold the objects by ("['key']",
                           '.attr', '[0]', ".f_locals['x']")
  .byid .byidset           ... object by object (a table, or rows by brief)
  .bymodule                ... modules by name, the rest as ~module
  .byprod                  ... by the line that allocated each object, as
                           tracemalloc recorded it in the process or core
                           (3.8-3.15; tracemalloc must be tracing there)
  .by('Type&Size')         ... by a combination of relations
  .theone .nodes           the object of a one-object set; the objects
  .dominos .domisize       what only this set keeps alive, and its size
  .imdom .byretained       immediate dominators; the objects retaining most
                           (dominator tree), with what each would free
  .sp .shpaths             the shortest paths to the set from the roots
  .dump(FILE)              save the whole snapshot with the set; later
                           hp.load(FILE) gives it back, no target needed
  .export(FILE, FORMAT)    write for other tools: 'heapsnapshot' (Chrome
                           DevTools, memlab), 'sqlite', 'dot' (paths to
                           the set), 'html' (a report of the set)
  .diff(OTHER)             heapy's difference table, this minus OTHER
  & | ^ - ~                intersection, union, symmetric difference,
                           difference, complement; with a kind: selection
  == <= <                  equality and subset tests
Kinds (symbolic sets): hp.Type('dict') or dict, hp.Size(56), hp.Via('.key'),
  hp.Rcs('dict of module'), hp.Clodo(dictof='__main__.A'), hp.Module('os'),
  .alt('<' '<=' '>=' '>' '!='), ~kind, hp.Nothing.
Sets from addresses: hp.iso(0x7f.., ...), hp.idset([...]) (ints or gdb values).
hp.setrelheap(): later captures leave out the objects there are now.
hp.memory(): where the process's memory goes (its resident size, or a
  core's segments): thread stacks, files, anonymous memory, and in it
  pymalloc's arenas as sys._debugmallocstats() counts them, the heap's
  objects in and out of them, mmap.mmap maps, the interpreter's
  structures (its states, frame stacks, code and frame objects), the rest.

Examples:
  py-heap
  py-heap h.bytype
  py-heap _.more
  py-heap big = h[0]
  py-heap big.referrers
  py-heap -json -- h.bysize
  py-heap h.byrcs
  py-heap t = h[0].byrcs[0].referrers
  py-heap t.domisize
  py-heap h & hp.Via("['data']")
  py-heap hp.iso(0x7f0011223344).sp
  python import remora; hp = remora.hpy(); h = hp.heap(); print(h)
"""

    def __init__(self):
        super().__init__("py-heap", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        self.dont_repeat()
        try:
            with code_from_files():
                self._run(argument)
        except gdb.GdbError:
            raise
        except RemoraError as exc:
            raise gdb.GdbError(str(exc)) from None
        except KeyboardInterrupt:
            raise gdb.GdbError("py-heap: interrupted") from None
        except Exception as exc:  # noqa: BLE001 — the user sees one line
            raise gdb.GdbError(_describe(exc)) from None

    def _run(self, argument):
        argument = argument.strip()
        as_json = False
        inject = True
        if argument == "-no-inject" or argument.startswith("-no-inject "):
            inject = False
            argument = argument[len("-no-inject"):].strip()
            if argument and not argument.startswith("-"):
                raise gdb.GdbError("py-heap: -no-inject captures; an expression "
                                   "follows -- : py-heap -no-inject [-json] -- EXPR")
        if argument.startswith("-json"):
            as_json = True
            argument = argument[len("-json"):].strip()
            if argument.startswith("--"):
                argument = argument[2:].strip()
            if not argument:
                raise gdb.GdbError("py-heap: -json needs an expression: "
                                   "py-heap -json -- EXPR")
        elif argument.startswith("--"):
            argument = argument[2:].strip()

        # progress (stderr, a terminal only) while it computes, gone
        # before the result is written
        with progress.shown(argument or "h"):
            if not inject or not argument:
                # -no-inject always captures anew; EXPR then sees it as h
                value = _current_heap(inject)
            if argument:
                if _ASSIGN.match(argument) and not as_json and not _several(argument):
                    try:
                        evaluate(argument)
                    except SyntaxError as exc:
                        raise _syntax_error(exc) from None
                    return
                try:
                    value = _evaluate(argument)
                except SyntaxError as exc:
                    raise _syntax_error(exc) from None
            text = render(value, as_json)

        namespace["_"] = value
        if text is not None:
            gdb.write(text + "\n")


def render(value, as_json):
    """What py-heap (and the remora command) prints of a result: its
    JSON or its repr; None for an assignment's (nothing to print)."""
    if value is None and not as_json:
        return None
    return json.dumps(heapy.to_json(value)) if as_json else repr(value)


def register():
    """Register py-heap and its cache invalidation (once)."""
    if getattr(register, "done", False):
        return
    PyHeapCommand()
    _connect_events()
    register.done = True
