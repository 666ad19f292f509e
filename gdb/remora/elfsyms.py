"""elfsyms.py — addresses of a live process's libc functions, read from
libc's own ELF dynamic symbol table.

Why: asking gdb for `mmap` or `dlopen` makes it search the full debug
info of every object file first (a third of a second on a fresh attach
to a Python with debug symbols).  The dynamic symbol table answers the
same question from a few kilobytes.  Any failure returns None and the
caller falls back to gdb's lookup.
"""

import os
import struct

SHT_DYNSYM = 11
SHT_GNU_VERSYM = 0x6FFFFFFF
PT_LOAD = 1
VERSYM_HIDDEN = 0x8000


def _mapping(pid, predicate):
    """(path, start, "start-end") of the offset-0 mapping whose path
    satisfies predicate, from /proc/PID/maps."""
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6 or int(parts[2], 16) != 0:
                continue
            path = parts[5].strip()
            if predicate(path):
                return path, int(parts[0].split("-")[0], 16), parts[0]
    return None


def _read_mapped(pid, found, limit=-1):
    """The bytes of the file _mapping() found in process pid: through
    /proc/PID/map_files (the very file, whatever the process's root or
    mount namespace), else the path as the process sees it (a mount
    namespace), else as we do (a chroot: /proc/PID/maps shows the path
    from our root)."""
    path, _start, rng = found
    tries = ["/proc/%d/map_files/%s" % (pid, rng), "/proc/%d/root%s" % (pid, path), path]
    for candidate in tries:
        try:
            with open(candidate, "rb") as f:
                return f.read(limit)
        except OSError:
            continue
    raise OSError("cannot open %s as process %d maps it" % (path, pid))


def _dynsyms(data, wanted):
    """{name: st_value} of the default-version definitions in wanted."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return {}
    e_phoff, e_shoff = struct.unpack_from("<QQ", data, 0x20)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", data, 0x36)
    first_vaddr = None
    for i in range(e_phnum):
        p_type, _f, _off, p_vaddr = struct.unpack_from("<IIQQ", data, e_phoff + i * e_phentsize)
        if p_type == PT_LOAD:
            first_vaddr = p_vaddr if first_vaddr is None else min(first_vaddr, p_vaddr)
    sections = []
    for i in range(e_shnum):
        sh = struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize)
        sections.append(sh)
    dynsym = versym = None
    for sh in sections:
        if sh[1] == SHT_DYNSYM:
            dynsym = sh
        elif sh[1] == SHT_GNU_VERSYM:
            versym = sh
    if dynsym is None:
        return {}
    strtab = sections[dynsym[6]]
    str_off = strtab[4]
    out = {}
    count = dynsym[5] // 24
    for i in range(count):
        st_name, st_info, _other, st_shndx, st_value, _size = struct.unpack_from(
            "<IBBHQQ", data, dynsym[4] + i * 24)
        if st_shndx == 0 or st_value == 0:
            continue
        end = data.index(b"\0", str_off + st_name)
        name = data[str_off + st_name:end].decode("ascii", "replace")
        if name not in wanted:
            continue
        if versym is not None:
            (ver,) = struct.unpack_from("<H", data, versym[4] + i * 2)
            if ver & VERSYM_HIDDEN:
                continue
        out[name] = st_value - (first_vaddr or 0)
    return out


# {(pid, libc's mapping, names): {name: value}}: libc's table read once
# per process (`remora snapshot` reads it before the process stops)
_libc_seen = {}


def libc_functions(pid, names):
    """{name: address} in process pid for the libc functions in names, or
    None if libc cannot be read."""
    try:
        found = _mapping(pid, lambda p: os.path.basename(p).startswith("libc.so"))
        if found is None:
            return None
        base = found[1]
        key = (pid, found, tuple(sorted(names)))
        syms = _libc_seen.get(key)
        if syms is None:
            syms = _dynsyms(_read_mapped(pid, found), set(names))
            _libc_seen.clear()
            _libc_seen[key] = syms
        if not all(n in syms for n in names):
            return None
        return {n: base + v for n, v in syms.items()}
    except (OSError, ValueError, struct.error, IndexError):
        return None


SHT_SYMTAB = 2
STT_FILE = 4
STB_LOCAL = 0


def first_load_vaddr(data):
    e_phoff = struct.unpack_from("<Q", data, 0x20)[0]
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 0x36)
    vaddrs = []
    for i in range(e_phnum):
        p_type, _f, _off, p_vaddr = struct.unpack_from("<IIQQ", data, e_phoff + i * e_phentsize)
        if p_type == PT_LOAD:
            vaddrs.append(p_vaddr)
    return min(vaddrs) if vaddrs else 0


def _name_offsets(strtab, wanted):
    """{offset in strtab: wanted name} of every place a symbol's name
    may start to read as a wanted name, or as one link-time optimization
    renamed (NAME.lto_priv.N): a linker may point a name at the tail of
    a longer string, so a match need not follow a NUL."""
    out = {}
    for name in wanted:
        raw = name.encode()
        for needle, lto in ((raw + b"\0", False), (raw + b".lto_priv.", True)):
            at = strtab.find(needle)
            while at >= 0:
                if lto:
                    end = strtab.find(b"\0", at + len(needle))
                    if strtab[at + len(needle):end].isdigit():
                        out[at] = name
                else:
                    out[at] = name
                at = strtab.find(needle, at + 1)
    return out


# {path: (identity, names asked for, answer)}: the last file read, kept
# while it is unchanged, so that a table read for a superset of names
# (layout.prewarm(), before the process stops) answers later asks
_symtab_seen = {}


def symtab(path, wanted):
    """{name: [(value, source file or None)]} for the names in wanted,
    from the .symtab of the ELF file at path (a library, or the separate
    debug file of one).  Local symbols carry the source file the symbol
    table attributes them to; values are link-time addresses.  A static
    that link-time optimization renamed NAME.lto_priv.N counts as NAME.
    Only the symbol and string tables are read, and the names are found
    in the strings first (a debug file is some megabytes)."""
    st = os.stat(path)
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    seen = _symtab_seen.get(path)
    if seen is not None and seen[0] == identity and seen[1] >= set(wanted):
        return {n: list(v) for n, v in seen[2].items() if n in wanted}
    out = _read_symtab(path, wanted)
    _symtab_seen.clear()
    _symtab_seen[path] = (identity, frozenset(wanted), out)
    return {n: list(v) for n, v in out.items()}


def _read_symtab(path, wanted):
    out = {}
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return {}
        e_shoff = struct.unpack_from("<Q", head, 0x28)[0]
        e_shentsize, e_shnum = struct.unpack_from("<HH", head, 0x3A)
        f.seek(e_shoff)
        raw = f.read(e_shentsize * e_shnum)
        sections = [struct.unpack_from("<IIQQQQIIQQ", raw, i * e_shentsize)
                    for i in range(e_shnum)]
        for sh in sections:
            if sh[1] != SHT_SYMTAB or sh[6] >= e_shnum:
                continue
            strsec = sections[sh[6]]
            f.seek(strsec[4])
            strtab = f.read(strsec[5])
            names = _name_offsets(strtab, wanted)
            if not names:
                continue
            f.seek(sh[4])
            table = f.read(sh[5] - sh[5] % 24)
            current_file = None
            for st_name, st_info, _o, st_shndx, st_value, _s in struct.iter_unpack(
                    "<IBBHQQ", table):
                if st_info & 0xF == STT_FILE:
                    current_file = strtab[st_name:strtab.find(b"\0", st_name)].decode(
                        "utf-8", "replace")
                    continue
                name = names.get(st_name)
                if name is None or st_shndx == 0:
                    continue
                local = (st_info >> 4) == STB_LOCAL
                out.setdefault(name, []).append((st_value, current_file if local else None))
    return out


def section(path, name):
    """The bytes of the ELF file's section called name (".rodata"), or
    None (no such section, or not a 64-bit little-endian ELF file)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    e_shoff = struct.unpack_from("<Q", data, 0x28)[0]
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if not e_shoff or e_shstrndx >= e_shnum:
        return None
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize)
                for i in range(e_shnum)]
    names_off = sections[e_shstrndx][4]
    want = name.encode()
    for sh in sections:
        start = names_off + sh[0]
        if data[start:data.index(b"\0", start)] == want:
            return data[sh[4]:sh[4] + sh[5]]
    return None


def load_bias(pid, path):
    """What to add to path's link-time addresses to get run-time ones in
    process pid, or None if path is not mapped there."""
    found = _mapping(pid, lambda p: p == path)
    if found is None:
        return None
    head = _read_mapped(pid, found, 1 << 16)
    return found[1] - first_load_vaddr(head)
