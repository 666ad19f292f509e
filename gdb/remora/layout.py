"""layout.py — fill remora's layout descriptor from the target's DWARF.

The walker knows CPython only through the descriptor (src/layout.h): one
int64 per field, each resolved here from the spec string that
src/layout.c gives for it (read through the engine library, so the field
list exists in exactly one place).  Without debug info, the offsets
and sizes come from the table generated from the same version's headers
(src/layout_tables.c), the symbols from the ELF symbol tables, and the few
static ones a stripped file hides from memory (nodwarf.py).

Errors are RemoraError with one line a user can act on: not a CPython
process, or a CPython without debug info remora has no table for (and
which package adds the debug info).
"""

import ctypes
import functools
import re
import struct

import gdb

from . import elfsyms, paths
from .errors import RemoraError

ABSENT = -1
LAYOUT_MAGIC = 0x52454D4F4C415931


class _Spec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("spec", ctypes.c_char_p)]


class _Table(ctypes.Structure):
    _fields_ = [("version_hex", ctypes.c_uint32), ("free_threaded", ctypes.c_int),
                ("headers", ctypes.c_char_p), ("values", ctypes.POINTER(ctypes.c_int64))]


AT_RUN_TIME = -2


def _c_table(getter, struct):
    """The entries of one of the engine's NULL-ended tables, read through
    its getter (entry i, or NULL past the last)."""
    try:
        lib = ctypes.CDLL(paths.engine_library())
    except OSError as e:
        raise RemoraError("remora: cannot load the engine: %s" % e) from None
    fn = getattr(lib, getter)
    fn.restype = ctypes.POINTER(struct)
    fn.argtypes = [ctypes.c_uint]
    out = []
    while True:
        p = fn(len(out))
        if not p:
            return out
        out.append(p.contents)


@functools.lru_cache(maxsize=None)
def specs(version=None):
    """[(name, spec)] for every descriptor field, in descriptor order (the
    engine's, fixed while gdb runs: read once).  With version
    (PY_VERSION_HEX), each spec as it applies to that version
    (for_version())."""
    if version is not None:
        return tuple((n, for_version(s, version)) for n, s in specs())
    return tuple((e.name.decode(), e.spec.decode())
                 for e in _c_table("remora_layout_spec_get", _Spec))


_RANGE = re.compile(r"^\[(\d+\.\d+)?-(\d+\.\d+)?\]\s*")


def for_version(spec, version):
    """A spec that begins with a range of minor versions ("[3.11-]",
    "[-3.10]", "[3.9-3.10]") is, for a version outside it, "?" (optional,
    no alternative: ABSENT), and inside it the rest of the spec; any other
    spec is itself (src/layout.h, remora_layout_spec_required())."""
    m = _RANGE.match(spec)
    if not m:
        return spec
    lo, hi = (tuple(int(x) for x in g.split(".")) if g else None for g in m.groups())
    v = (version >> 24, (version >> 16) & 0xFF)
    if (lo and v < lo) or (hi and v > hi):
        return "?"
    return spec[m.end():]


def _find_field(t, name):
    """(offset in bytes, field type) of member `name`, looking through
    anonymous structs and unions.  Not cached by type: gdb names every
    anonymous struct "struct {...}" (3.14's tuple and list both are one,
    with ob_item at different offsets); _resolve_one caches by spec."""
    for f in t.fields():
        if f.name == name:
            return f.bitpos // 8, f.type
        if f.name is None and f.type.strip_typedefs().code in (
                gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
            try:
                off, ft = _find_field(f.type.strip_typedefs(), name)
            except KeyError:
                continue
            return f.bitpos // 8 + off, ft
    raise KeyError(name)


_types = {}
_fields = {}
_cache = {}


def _type(name):
    t = _types.get(name)
    if t is None:
        t = _types[name] = _lookup(name)
    return t


def _lookup(name):
    if "@" in name:
        name, filename = name.split("@", 1)
        return _file_symbol(name, filename).type.strip_typedefs()
    if name.startswith("struct "):
        tag = name[len("struct "):]
        try:
            return gdb.lookup_type("struct " + tag).strip_typedefs()
        except gdb.error:
            return gdb.parse_and_eval("(struct %s *)0" % tag).type.target().strip_typedefs()
    return gdb.lookup_type(name).strip_typedefs()


def _file_symbol(name, filename):
    """The static symbol `name` defined in a source file ending with
    `filename` (names like `block` exist in many libraries)."""
    syms = gdb.lookup_static_symbols(name)
    for sym in syms:
        if sym.symtab is not None and sym.symtab.filename.endswith(filename):
            return sym
    # LTO builds attribute some symbols to "<artificial>": take the
    # symbol only when it is the one of that name
    if len(syms) == 1:
        return syms[0]
    raise KeyError(name)


class _ElfStatics:
    """Static symbols of the interpreter's object file (libpython, or the
    executable), read from its ELF symbol table — that of its separate
    debug file when it has one.  gdb's own lookup of a static symbol
    expands whole compilation units: a tenth of a second each on a fresh
    attach."""

    def __init__(self):
        self.table = None

    def load(self, names):
        self.table = {}
        sym = gdb.lookup_global_symbol("_PyRuntime")
        if sym is None or sym.symtab is None:
            return
        objfile = sym.symtab.objfile
        real = objfile.owner or objfile
        inf = gdb.selected_inferior()
        # /proc/PID describes a live process; a core's pid may name
        # another process now: there the bias is where gdb placed
        # _PyRuntime less where the symbol table says it is
        conn = getattr(inf, "connection", None)
        live = inf.pid != 0 and (conn is None or getattr(conn, "type", "") == "native")
        try:
            table = elfsyms.symtab(objfile.filename, set(names) | {"_PyRuntime"})
            if live:
                bias = elfsyms.load_bias(inf.pid, real.filename)
            elif sym.addr_class in _IN_MEMORY and len(table.get("_PyRuntime", [])) == 1:
                bias = int(sym.value().address) - table["_PyRuntime"][0][0]
            else:
                bias = None
            if bias is None:
                return
        except (OSError, ValueError, IndexError, struct.error, gdb.error):
            return
        self.table = {n: [(v + bias, f) for v, f in entries]
                      for n, entries in table.items()}

    def address(self, name, filename=None):
        """The run-time address, or None when not exactly one matches."""
        entries = (self.table or {}).get(name, [])
        if filename is not None:
            matching = [v for v, f in entries if f and f.endswith(filename)]
            if len(matching) == 1:
                return matching[0]
        values = {v for v, _f in entries}
        return values.pop() if len(values) == 1 else None


_statics = _ElfStatics()


# symbols whose value lies in memory: only their address may be asked
# for (gdb gets the address of any other value by copying it into the
# target, with a call to the target's malloc)
_IN_MEMORY = (gdb.SYMBOL_LOC_STATIC, gdb.SYMBOL_LOC_BLOCK, gdb.SYMBOL_LOC_LABEL)


def _symbol_address(name):
    qualified = name.split("@", 1)
    hit = _statics.address(*qualified)
    if hit is not None:
        return hit
    if "@" in name:
        name, filename = name.split("@", 1)
        sym = _file_symbol(name, filename)
        if sym.addr_class not in _IN_MEMORY:
            raise KeyError(name)
        return int(sym.value().address)
    # the debug info's symbol where it lies in memory, else an ELF one
    address = _address_in_memory(name)
    if address is None:
        raise KeyError(name)
    return address


def _resolve_one(alt):
    kind, _, rest = alt.partition(" ")
    if kind == "off":
        hit = _fields.get(rest)
        if hit is None:
            tname, _, path = rest.rpartition(" ")
            t = _type(tname)
            off = 0
            for part in path.split("."):
                o, ft = _find_field(t, part)
                off += o
                t = ft.strip_typedefs()
            hit = _fields[rest] = off
        return hit
    if kind == "bit":
        # a bit-field's offset in bits from the struct's start
        tname, _, path = rest.rpartition(" ")
        t, bits = _type(tname), 0
        for part in path.split("."):
            f = next((f for f in t.fields() if f.name == part), None)
            if f is None:
                raise KeyError(part)
            bits += f.bitpos
            t = f.type.strip_typedefs()
        return bits
    if kind == "size":
        return _type(rest).sizeof
    if kind == "addr":
        return _symbol_address(rest)
    if kind == "ptr":
        try:
            return int(gdb.parse_and_eval("(unsigned long)%s" % rest))
        except gdb.error:
            # a minimal symbol: no type to cast from
            return _read_word(rest, 8)
    if kind == "const":
        return int(rest, 0)
    raise ValueError("bad layout spec %r" % alt)


def resolve(spec):
    """The value of one spec string; ABSENT for an optional one that no
    alternative resolves; KeyError for a required one."""
    optional = spec.startswith("?")
    if optional:
        spec = spec[1:]
    for alt in spec.split(" | "):
        try:
            return _resolve_one(alt.strip())
        except (gdb.error, KeyError, RuntimeError, ValueError, TypeError):
            continue
    if optional:
        return ABSENT
    raise KeyError(spec)


_INFO_ADDRESS = re.compile(r'^Symbol "[^"]*" is (?:static storage at address |at |'
                           r'a function at address |a variable at )(0x[0-9a-f]+)')


def _address_in_memory(name):
    """The address of a symbol in memory (an ELF one, or static storage
    the debug info places), or None; never an expression to evaluate:
    gdb takes the address of a value that is not in memory (a constant,
    a variable the debug info calls optimized out) by copying it into
    the target, with a call to the target's malloc."""
    try:
        text = gdb.execute("info address %s" % name, to_string=True)
    except gdb.error:
        return None
    m = _INFO_ADDRESS.match(text.strip())
    return int(m.group(1), 16) if m else None


def _read_word(name, size):
    """The size-byte little-endian word at symbol name; KeyError."""
    address = _address_in_memory(name)
    if address is None:
        raise KeyError(name)
    try:
        data = bytes(gdb.selected_inferior().read_memory(address, size))
    except gdb.MemoryError:
        raise KeyError(name) from None
    return int.from_bytes(data, "little")


def python_version():
    """PY_VERSION_HEX of the target, or raise RemoraError explaining why
    this is not a CPython we can read."""
    has_runtime = (gdb.lookup_global_symbol("_PyRuntime") is not None or
                   gdb.lookup_static_symbol("_PyRuntime") is not None or
                   _address_in_memory("_PyRuntime") is not None)
    if has_runtime:
        try:
            return int(gdb.parse_and_eval("(unsigned int)Py_Version")) & 0xFFFFFFFF
        except (gdb.error, gdb.MemoryError):
            pass
        try:
            return _read_word("Py_Version", 4)
        except KeyError:
            pass
    # before 3.11 there is no Py_Version (and before 3.7 no _PyRuntime):
    # the file that holds the interpreter names its version
    older = _version_from_file()
    if older is not None and older in SUPPORTED_VERSIONS:
        # the release from PY_VERSION in the file's read-only data; else
        # the table of the minor version's highest one serves
        return (_release_from_rodata(symbol_file("_Py_NoneStruct"), older)
                or older[0] << 24 | older[1] << 16 | 0xFF << 8)
    if older is not None:
        raise RemoraError("remora: CPython %d.%d is not supported%s (%s are)"
                          % (older + (" yet" if older > SUPPORTED_VERSIONS[-1] else "",
                                      SUPPORTED)))
    if not has_runtime:
        raise RemoraError("remora: this process is not running CPython "
                          "(no _PyRuntime symbol)")
    raise RemoraError("remora: cannot read the interpreter's version "
                      "(Py_Version); CPython %s are supported" % SUPPORTED)


SUPPORTED_VERSIONS = ((3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15))
SUPPORTED = "3.8–3.15"


def symbol_file(name):
    """The file whose memory holds symbol name (as `info symbol` says;
    the main program when gdb names none), or None."""
    if _address_in_memory(name) is None:
        return None
    try:
        where = gdb.execute("info symbol (unsigned long)&'%s'" % name, to_string=True).strip()
    except gdb.error:
        return None
    m = re.search(r" of (/.*)$", where)
    if m:
        return m.group(1)
    return gdb.current_progspace().filename if where.startswith(name) else None


def _version_from_file():
    """(major, minor) from the name of the file holding CPython's
    _Py_NoneStruct (libpython3.10.so.1.0, python2.7), or None."""
    m = re.search(r"python(\d)\.(\d+)[^/]*$", symbol_file("_Py_NoneStruct") or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


_LEVELS = {b"a": 0xA, b"b": 0xB, b"rc": 0xC, b"": 0xF}


def _release_from_rodata(path, minor_version):
    """PY_VERSION_HEX from the PY_VERSION string ("3.9.18", "3.10.0rc2")
    in the .rodata of the file holding the interpreter (what Py_GetVersion
    prints), or None unless exactly one release of that minor version is
    named there."""
    data = elfsyms.section(path, ".rodata") if path else None
    if not data:
        return None
    major, minor = minor_version
    # the linker may keep it as the tail of a longer string (the build
    # directory's ".../Python-3.9.18"): any string that ends in it counts
    found = set(re.findall(rb"(?<![0-9.])(%d\.%d\.(\d+)(a|b|rc|)(\d*))\+?\x00"
                           % (major, minor), data))
    if len(found) != 1:
        return None
    _text, micro, level, serial = found.pop()
    if int(micro) > 0xFF or (level and not serial):
        return None
    return (major << 24 | minor << 16 | int(micro) << 8 | _LEVELS[level] << 4
            | (int(serial) if level else 0))


def tables():
    """[(version_hex, free_threaded, headers, values)] of the layout tables
    generated from CPython's headers (src/layout_tables.c)."""
    n = len(specs())
    return [(t.version_hex, bool(t.free_threaded), t.headers.decode(),
             [t.values[k] for k in range(n)])
            for t in _c_table("remora_layout_table_get", _Table)]


def is_free_threaded():
    """Whether the target's CPython is a free-threaded build (3.13t on):
    only those define _Py_MergeZeroLocalRefcount, stripped or not (its
    dynamic symbol table has it)."""
    return _address_in_memory("_Py_MergeZeroLocalRefcount") is not None


def _free_threaded(version, described=None):
    """Whether the target is a free-threaded build (which table fits it).
    described: what its debug info says (its PyObject has ob_ref_shared),
    None without debug info: then its symbols say.  From 3.14 its own
    _Py_DebugOffsets (at the start of _PyRuntime) says too; where they
    disagree that is said once, and the debug info decides, else the
    interpreter's word."""
    mine = described if described is not None else is_free_threaded()
    source = "debug info" if described is not None else "symbols"
    if version < 0x030E0000:
        return mine
    try:
        head = _debug_offsets_head(runtime_address())
    except (gdb.error, RemoraError):
        return mine
    if head is None:
        return mine         # not in the core: nothing to check against
    cookie, stated_version, stated = head
    if cookie != DEBUG_COOKIE or stated_version != version or stated > 1:
        return mine
    if bool(stated) != mine:
        _say_once(("free-threaded", version, stated),
                  "remora: CPython %s's _Py_DebugOffsets says it is %sfree-threaded, its "
                  "%s that it is %s: %s"
                  % (_dotted(version), "" if stated else "not ", source,
                     "" if mine else "not",
                     "using the debug info" if described is not None else
                     "reading it as %sfree-threaded" % ("" if stated else "not ")))
    return mine if described is not None else bool(stated)


def table_for(version, free_threaded=False):
    """(headers, values) of the table for the target's version: the same
    minor version, the highest patch release not above the target's, else
    the lowest; None when there is none."""
    minor = version >> 16
    same = sorted((t for t in tables() if t[0] >> 16 == minor and t[1] == free_threaded),
                  key=lambda t: t[0])
    if not same:
        return None
    patch = (version >> 8) & 0xFF
    below = [t for t in same if (t[0] >> 8) & 0xFF <= patch]
    chosen = below[-1] if below else same[0]
    return chosen[2], chosen[3]


def has_debug_info():
    """Whether gdb sees CPython's internal structs in the target's DWARF."""
    try:
        gdb.lookup_type("PyDictKeysObject")
        return True
    except gdb.error:
        return False


def runtime_address():
    """Address of _PyRuntime in the target."""
    return _symbol_address("_PyRuntime")


def _cache_key():
    inf = gdb.selected_inferior()
    return (inf.num, inf.pid, tuple(o.filename for o in gdb.objfiles()))


def forget(*_args):
    """Drops cached layouts (new object files, a new process)."""
    _cache.clear()
    _types.clear()
    _fields.clear()


def build():
    """(python_version, descriptor bytes) for the current inferior; cached
    while the process and its object files stay the same."""
    key = _cache_key()
    hit = _cache.get(key)
    if hit is not None:
        return hit
    result = _build()
    _cache[key] = result
    return result


def _build():
    forget()
    version = python_version()
    major, minor = version >> 24, (version >> 16) & 0xFF
    if (major, minor) not in SUPPORTED_VERSIONS:
        raise RemoraError("remora: CPython %d.%d is not supported yet (%s are)"
                          % (major, minor, SUPPORTED))
    all_specs = specs(version)
    _statics.load({rest.split("@", 1)[0] for kind, rest in _alternatives(all_specs)
                   if kind == "addr"})
    # an executable built against the headers describes the public
    # structs, not libpython's internal ones: DWARF counts when it gives
    # every field
    values, missing = _from_dwarf(all_specs) if has_debug_info() else (None, ["all"])
    dwarf = not missing
    if dwarf:
        # the table to check it against is of the build it describes
        shared = values[[n for n, _s in all_specs].index("RL_OB_REF_SHARED")]
        table = table_for(version, _free_threaded(version, shared >= 0))
    else:
        table = table_for(version, _free_threaded(version))
    if dwarf:
        if table is not None:
            _cross_check(all_specs, values, table, version)
    elif table is None and values is not None:
        raise RemoraError("remora: cannot find %s in the debug info of CPython "
                          "%d.%d" % (", ".join(missing[:4]), major, minor))
    else:
        if table is None:
            raise RemoraError(
                "remora: CPython %s has no debug info and remora has no layout table "
                "for it: install its debug symbols (Debian: apt install python%d.%d-dbg)"
                % (_dotted(version), major, minor))
        values, missing = _from_table(all_specs, table[1])
        if missing:
            raise RemoraError("remora: CPython %s has no debug info, and its symbols "
                              "do not give %s: install its debug symbols (Debian: apt "
                              "install python%d.%d-dbg)" % (
                                  _dotted(version), ", ".join(missing[:4]), major, minor))
    _check_debug_offsets(all_specs, values, version, dwarf=dwarf,
                         headers=table[0] if table is not None else None)
    blob = struct.pack("<QII", LAYOUT_MAGIC, len(values), version)
    blob += struct.pack("<%dq" % len(values), *values)
    return version, blob


def _alternatives(all_specs):
    """(kind, rest) of every alternative of the specs: ("addr", "sym@file.c")."""
    for _name, spec in all_specs:
        for alt in spec.lstrip("?").split(" | "):
            kind, _, rest = alt.strip().partition(" ")
            yield kind, rest


def prewarm():
    """What build() will read from the symbol files, read now: the ELF
    symbol table of the file that defines _PyRuntime and the debug info's
    types of every spec, for every version.  `remora snapshot` and
    `remora attach` call it after loading the executable and before the
    process stops, so the pause does not pay for it (0.1 s of a 0.45 s
    pause).  Finds nothing where the interpreter is a shared library not
    loaded yet; errors are left for build() to meet."""
    names, types = {"_PyRuntime"}, set()
    every_version = [(n, _RANGE.sub("", spec)) for n, spec in specs()]
    for kind, rest in _alternatives(every_version):
        if kind == "addr":
            names.add(rest.split("@", 1)[0])
        elif kind in ("off", "bit"):
            types.add(rest.rpartition(" ")[0])
        elif kind == "size":
            types.add(rest)
    try:
        sym = gdb.lookup_global_symbol("_PyRuntime")
        if sym is None or sym.symtab is None:
            return
        elfsyms.symtab(sym.symtab.objfile.filename, names)
    except (gdb.error, OSError, ValueError, IndexError, struct.error):
        return
    for name in sorted(types):
        try:
            _lookup(name)
        except (gdb.error, KeyError, RuntimeError, ValueError):
            continue


def field(name):
    """The value of descriptor field `name` (RL_...) for the current
    inferior: ABSENT if it has none."""
    _version, blob = build()
    names = [n for n, _s in specs()]
    (value,) = struct.unpack_from("<q", blob, 16 + 8 * names.index(name))
    return value


def _dotted(version):
    return "%d.%d.%d" % (version >> 24, (version >> 16) & 0xFF, (version >> 8) & 0xFF)


def _from_dwarf(all_specs):
    values, missing = [], []
    for name, spec in all_specs:
        try:
            values.append(resolve(spec))
        except KeyError:
            missing.append(name)
            values.append(ABSENT)
    return values, missing


def _symbol_kinds_only(spec):
    """The spec's symbol alternatives (addr, ptr), keeping its '?'."""
    alts = [a.strip() for a in spec.lstrip("?").split(" | ")]
    kept = [a for a in alts if a.split(" ", 1)[0] in ("addr", "ptr")]
    return ("?" if spec.startswith("?") else "") + " | ".join(kept)


def _from_table(all_specs, table):
    """The descriptor from a layout table: its offsets and sizes, and the
    symbols from the ELF symbols or, for the static ones a stripped file
    hides, from the objects that hold them (nodwarf.py)."""
    from . import nodwarf
    values, missing = list(table), []
    by_name = {}
    pending = []
    for i, (name, spec) in enumerate(all_specs):
        if values[i] != AT_RUN_TIME:
            by_name[name] = values[i]
            continue
        try:
            values[i] = resolve(_symbol_kinds_only(spec).lstrip("?"))
            by_name[name] = values[i]
        except KeyError:
            pending.append((i, name, spec))
    for i, name, spec in pending:
        found = nodwarf.find(name, by_name)
        if found is not None:
            values[i] = found
        elif spec.startswith("?"):
            values[i] = ABSENT
        else:
            missing.append(name)
            values[i] = ABSENT
    return values, missing


_warned = set()

# The fields the interpreter states in its _Py_DebugOffsets (3.13+) that
# the descriptor has too: (where in _Py_DebugOffsets, descriptor field).
DEBUG_OFFSETS = tuple((n, n.replace("RL_DBG_", "RL_")) for n in (
    "RL_DBG_RUNTIME_FINALIZING", "RL_DBG_RUNTIME_INTERP_HEAD", "RL_DBG_INTERP_NEXT",
    "RL_DBG_INTERP_THREADS_HEAD", "RL_DBG_INTERP_MODULES", "RL_DBG_INTERP_SYSDICT",
    "RL_DBG_INTERP_BUILTINS", "RL_DBG_TSTATE_NEXT", "RL_DBG_TSTATE_CURRENT_FRAME",
    "RL_DBG_IFRAME_PREVIOUS", "RL_DBG_IFRAME_CODE", "RL_DBG_IFRAME_LOCALSPLUS",
    "RL_DBG_IFRAME_OWNER", "RL_DBG_OB_TYPE", "RL_DBG_TP_NAME", "RL_DBG_TP_FLAGS",
    "RL_DBG_TUPLE_ITEMS", "RL_DBG_LIST_ITEMS", "RL_DBG_DICT_KEYS", "RL_DBG_DICT_VALUES"))
DEBUG_COOKIE = b"xdebugpy"


def _say_once(key, text):
    if key not in _warned:
        _warned.add(key)
        gdb.write(text + "\n")


def _debug_offsets_head(at):
    """(cookie, version, free_threaded) of the _Py_DebugOffsets at `at`
    (3.13+; free_threaded from 3.14), or None where memory has none (a
    core that did not save it)."""
    try:
        mem = bytes(gdb.selected_inferior().read_memory(at, 24))
    except (gdb.error, gdb.MemoryError):
        return None
    version, free_threaded = struct.unpack_from("<QQ", mem, 8)
    return mem[:8], version, free_threaded


def _check_debug_offsets(all_specs, values, version, dwarf, headers):
    """3.13+: the interpreter's own _Py_DebugOffsets (in _PyRuntime) must
    carry its cookie and version, and state the offsets the descriptor
    has.  A disagreement is said in one line; the debug info still wins,
    but over a table the interpreter's own offsets do (a custom build)."""
    index = {name: i for i, (name, _spec) in enumerate(all_specs)}
    base = values[index["RL_RUNTIME_DEBUG_OFFSETS"]]
    runtime = values[index["RL_RUNTIME_ADDR"]]
    if base < 0 or runtime <= 0:
        return
    at = runtime + base
    head = _debug_offsets_head(at)
    if head is None:
        return      # not in the core: nothing to check against
    mem, stated, _free = head
    source = "debug info" if dwarf else "%s table" % headers
    if mem != DEBUG_COOKIE:
        _say_once(("cookie", version, mem), "remora: CPython %s's _PyRuntime.debug_offsets "
                  "lacks its cookie (%r, not %r): memory damaged, or not the interpreter "
                  "the symbols say; using the %s" % (_dotted(version), mem, DEBUG_COOKIE,
                                                     source))
        return
    if stated != version:
        _say_once(("version", version, stated), "remora: CPython %s's _PyRuntime.debug_"
                  "offsets says version 0x%08x, Py_Version 0x%08x; using the %s"
                  % (_dotted(version), stated, version, source))
        return
    differ = []
    for where, name in DEBUG_OFFSETS:
        off, mine = values[index[where]], values[index[name]]
        if off < 0 or mine < 0:
            continue
        try:
            (theirs,) = struct.unpack("<Q", bytes(gdb.selected_inferior().read_memory(
                at + off, 8)))
        except (gdb.error, gdb.MemoryError):
            continue
        if theirs != mine:
            differ.append((name, mine, theirs))
    if not differ:
        return
    names = ", ".join("%s (%d, its own %d)" % d for d in differ[:3])
    if len(differ) > 3:
        names += " and %d more" % (len(differ) - 3)
    _say_once(("offsets", version, tuple(differ)), "remora: CPython %s's own "
              "_Py_DebugOffsets differ from the %s in %s: using %s"
              % (_dotted(version), source, names,
                 "the debug info" if dwarf else "the interpreter's"))
    if not dwarf:
        for name, _mine, theirs in differ:
            values[index[name]] = theirs


def _cross_check(all_specs, values, table, version):
    """DWARF wins; a table that disagrees (a custom build, or a patch
    release that moved a field) is said once, in one line."""
    headers, tvalues = table
    differ = [name for (name, _spec), v, t in zip(all_specs, values, tvalues)
              if t != AT_RUN_TIME and v != t]
    key = (version, headers, tuple(differ))
    if differ and key not in _warned:
        _warned.add(key)
        gdb.write("remora: CPython %s's debug info differs from the %s headers in %s "
                  "(a custom build?): using the debug info\n"
                  % (_dotted(version), headers, ", ".join(differ[:3])
                     + (" and %d more" % (len(differ) - 3) if len(differ) > 3 else "")))


gdb.events.new_objfile.connect(forget)
gdb.events.exited.connect(forget)
