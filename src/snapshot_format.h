/* snapshot_format.h — the remora snapshot file format, version 4: the
 * contract between capture (the walker, which streams it) and query (the
 * engine, which maps it).  Bump REMORA_SNAPSHOT_VERSION on every change.
 * History: version 1 had NODE records of 48 bytes before the repr
 * (extra, flags and a reserved word always present, n = repr length
 * only); version 2 moved the flags into the head and made extra optional:
 * 32 bytes for most objects; version 3 added the `where` word to ROOTS
 * entries (which thread and frame a root belongs to), frame roots with
 * FIELD/LOCAL/STACK vias, int reprs, and the SET record; version 4
 * widened a where word's frame depth from 16 bits (bits 32..47, which
 * saturated at 65535 frames) to 32 (bits 32..63).  A frame object's repr
 * (its line) came later within version 4: the record's layout did not
 * change, and a reader that predates it takes the line as text.
 *
 * Everything is little-endian; every record starts 8-aligned and its length
 * is a multiple of 8.  A file is a header followed by records:
 *
 *   offset  size  field
 *   ------  ----  -----------------------------------------------------
 *        0     8  magic "\x89RMRSNP\n"
 *        8     4  format version (REMORA_SNAPSHOT_VERSION)
 *       12     4  header size in bytes (32)
 *       16     4  target's PY_VERSION_HEX (e.g. 0x030b02f0 for 3.11.2)
 *       20     4  flags: REMORA_SNAP_PARTIAL if the walk skipped anything
 *       24     8  pointer size of the target (8)
 *       32        records ...
 *
 * A record is an 8-byte head followed by its payload:
 *
 *   +--------+--------+----------------------------------------------+
 *   | tag u32| n   u32| payload (length depends on tag and n)        |
 *   +--------+--------+----------------------------------------------+
 *
 *   NODE  n = repr length (bits 0..7) | node flags << 8 (REMORA_NODE_*,
 *         bits 8..31); 32 bytes for an object without inline values or
 *         representation:
 *
 *           0      4      8             16            24           32
 *           +------+------+-------------+-------------+-------------+
 *           | tag  | n    | address     | type        | size        |
 *           +------+------+-------------+-------------+-------------+
 *           [ extra u64 ]  only if flags has REMORA_NODE_INLINE_VALUES
 *           [ repr bytes, zero-padded to 8 ]
 *
 *         address  object address in the target, nonzero, 8-aligned
 *         type     address of its type object (ob_type)
 *         size     sys.getsizeof(object) in the target
 *         extra    bytes the object owns outside any object: inline or
 *                  managed attribute values (3.11+), which getsizeof does
 *                  not count; absent (read as 0) without the flag
 *         repr     short representation (UTF-8), at most 255 bytes: a
 *                  str's first 64 characters (no quotes), an int's
 *                  decimal digits (if it fits in 60 bits), True/False;
 *                  a frame's line (decimal digits), where known
 *         Unknown flag bits are a format error (they could change the
 *         record's length).
 *   EDGES (n = number of edges; they belong to the last NODE record,
 *         which may be followed by several EDGES records)
 *         n x { u64 target address; u64 via }
 *   ROOTS (n = number of root edges)
 *         n x { u64 target address; u64 via; u64 where }
 *         where: bits 0..15 the interpreter's index, bits 16..31 the
 *         thread's index + 1 (0: not a thread's root), bits 32..63 the
 *         frame's depth + 1 (0: not a frame's; 1: the innermost).  A
 *         frame's roots have the vias its object would have (FIELD
 *         F_CODE/F_FUNC/F_GLOBALS/F_BUILTINS/F_LOCALS/F_OBJECT, LOCAL,
 *         STACK); other roots have a ROOT via.
 *   THREAD (n = 0) a thread state the walker met:
 *         u64 interpreter index   u64 thread index (as in where words)
 *         u64 thread_id (threading.get_ident(); 0 if unknown)
 *         u64 native_thread_id (the OS thread id; 0 if unknown)
 *   SET   (n = number of addresses) n x u64 object address: the objects
 *         of the set the file was saved from (IdSet.dump); a file
 *         without SET records stands for all its objects.  Addresses
 *         without a NODE record are a format error.
 *   TYPE  (n = name length + module length, <= 2 x 65535)
 *         u64 address        type object
 *         u64 flags          the type's tp_flags
 *         u16 name length    u16 module length   u32 shape
 *         name bytes, module bytes, padded to 8
 *         name is the qualified name as Python shows it (__qualname__ for
 *         classes, tp_name after the last dot for static types); module is
 *         __module__ ("builtins" for the builtin types).  shape
 *         (version 5; 0 in version 4: not known): bits 0..23 the type's
 *         tp_basicsize, bit 31 set when its objects hold a variable part
 *         inside themselves (tp_itemsize != 0, or str's characters): an
 *         object of a type without it owns size - tp_basicsize - its
 *         pre-header bytes outside itself (a list's items, a dict's keys).
 *   END   (n = 0) the last record; a file without it is truncated.
 *         u64 node count     u64 edge count (roots excluded)
 *         u64 type count     u64 root count
 *
 * A via word encodes how an edge's source holds its target, in heapy's
 * vocabulary: kind in the top 8 bits, argument in the low 56 bits
 * (addresses of the target fit: user space is below 2^47).
 *
 * Each object appears in exactly one NODE record; EDGES targets and ROOTS
 * targets are addresses that normally have their own NODE record (an edge
 * to an address with no NODE is a dangling edge; the engine drops it and
 * counts it).
 */
#ifndef REMORA_SNAPSHOT_FORMAT_H
#define REMORA_SNAPSHOT_FORMAT_H

#include <stdint.h>

static const char REMORA_SNAPSHOT_MAGIC[8] = "\x89RMRSNP\n";
enum { REMORA_SNAPSHOT_VERSION = 5, REMORA_SNAPSHOT_HEADER_SIZE = 32 };

enum remora_snap_flag {
	REMORA_SNAP_PARTIAL = 1u << 0, /* set by the walker on any skipped read */
	REMORA_SNAP_FREE_THREADED = 1u << 1, /* a free-threaded build's heap */
	REMORA_SNAP_SIZE_LOWER = 1u << 2, /* some node has REMORA_NODE_SIZE_LOWER */
};

enum remora_record_tag {
	REMORA_REC_NODE = 1,
	REMORA_REC_EDGES = 2,
	REMORA_REC_ROOTS = 3,
	REMORA_REC_TYPE = 4,
	REMORA_REC_SET = 5,
	REMORA_REC_THREAD = 6,
	REMORA_REC_END = 0x454e44, /* "END" */
};

enum remora_node_flag {
	REMORA_NODE_GC = 1u << 0,       /* type has Py_TPFLAGS_HAVE_GC */
	REMORA_NODE_TRAVERSED = 1u << 1, /* referents came from tp_traverse */
	REMORA_NODE_PARTIAL = 1u << 2,  /* some referents could not be read */
	REMORA_NODE_INLINE_VALUES = 1u << 3, /* attributes held outside a dict */
	REMORA_NODE_TYPE = 1u << 4,     /* the object is a type */
	REMORA_NODE_MEMBERS = 1u << 5,  /* read from outside: referents from
	                                 * the type's member table and dict,
	                                 * tp_traverse could not be called */
	REMORA_NODE_SIZE_LOWER = 1u << 6, /* read from outside: its type's
	                                   * NyHeapDef size function could
	                                   * not run; the size is the basic
	                                   * one, a lower bound (version 5) */
	/* Every flag above: the loader refuses others.  A new flag joins
	 * this list and bumps REMORA_SNAPSHOT_VERSION. */
	REMORA_NODE_KNOWN = REMORA_NODE_GC | REMORA_NODE_TRAVERSED |
			    REMORA_NODE_PARTIAL | REMORA_NODE_INLINE_VALUES |
			    REMORA_NODE_TYPE | REMORA_NODE_MEMBERS |
			    REMORA_NODE_SIZE_LOWER,
};

/* Via kinds.  The argument's meaning is given for each; labels are heapy's. */
enum remora_via_kind {
	REMORA_VIA_UNKNOWN = 0,    /* arg 0; no label known (tp_traverse) */
	REMORA_VIA_INDEX = 1,      /* "[arg]" list/tuple item */
	REMORA_VIA_DICT_VALUE = 2, /* "[repr(key)]", arg = key object address */
	REMORA_VIA_DICT_KEY = 3,   /* ".keys()[arg]" */
	REMORA_VIA_ATTR = 4,       /* ".name", arg = address of the name str */
	REMORA_VIA_FIELD = 5,      /* a C field, arg = enum remora_field */
	REMORA_VIA_LOCAL = 6,      /* ".f_locals[name]", arg = name str address */
	REMORA_VIA_SET_ITEM = 7,   /* "list(_)[arg]" set member */
	REMORA_VIA_ROOT = 8,       /* a root; arg = enum remora_root_kind |
	                            * interpreter index << 16 |
	                            * thread index << 32 */
	REMORA_VIA_STACK = 9,      /* frame value-stack slot, arg = index */
	REMORA_VIA_INTERATTR = 10, /* "->name", a C-level member a NyHeapDef's
	                            * relate names; arg = name str address */
};

/* C-level fields that hold references, for REMORA_VIA_FIELD. */
enum remora_field {
	REMORA_FIELD_OB_TYPE = 0,  /* "->ob_type" (heapy: __class__) */
	REMORA_FIELD_DICT,         /* ".__dict__" owner -> its attribute dict */
	REMORA_FIELD_BASES,        /* ".__bases__" */
	REMORA_FIELD_MRO,          /* ".__mro__" */
	REMORA_FIELD_BASE,         /* ".__base__" */
	REMORA_FIELD_SUBCLASSES,   /* "->tp_subclasses" */
	REMORA_FIELD_NAME,         /* ".__name__" */
	REMORA_FIELD_QUALNAME,     /* ".__qualname__" */
	REMORA_FIELD_MODULE,       /* ".__module__" */
	REMORA_FIELD_DOC,          /* ".__doc__" */
	REMORA_FIELD_CODE,         /* ".__code__" */
	REMORA_FIELD_GLOBALS,      /* ".__globals__" */
	REMORA_FIELD_BUILTINS,     /* ".__builtins__" */
	REMORA_FIELD_DEFAULTS,     /* ".__defaults__" */
	REMORA_FIELD_KWDEFAULTS,   /* ".__kwdefaults__" */
	REMORA_FIELD_CLOSURE,      /* ".__closure__" */
	REMORA_FIELD_ANNOTATIONS,  /* ".__annotations__" */
	REMORA_FIELD_CELL_CONTENTS,/* ".cell_contents" */
	REMORA_FIELD_SELF,         /* ".__self__" */
	REMORA_FIELD_FUNC,         /* ".__func__" */
	REMORA_FIELD_CO_CONSTS,    /* ".co_consts" */
	REMORA_FIELD_CO_NAMES,     /* ".co_names" */
	REMORA_FIELD_CO_FILENAME,  /* ".co_filename" */
	REMORA_FIELD_CO_NAME,      /* ".co_name" */
	REMORA_FIELD_CO_QUALNAME,  /* ".co_qualname" */
	REMORA_FIELD_CO_LINETABLE, /* ".co_linetable" */
	REMORA_FIELD_CO_EXCEPTIONTABLE, /* ".co_exceptiontable" */
	REMORA_FIELD_CO_LOCALSPLUSNAMES, /* ".co_localsplusnames" */
	REMORA_FIELD_CO_LOCALSPLUSKINDS, /* ".co_localspluskinds" */
	REMORA_FIELD_CO_CODE,      /* "->co_code_adaptive" caches */
	REMORA_FIELD_F_BACK,       /* ".f_back" */
	REMORA_FIELD_F_CODE,       /* ".f_code" */
	REMORA_FIELD_F_GLOBALS,    /* ".f_globals" */
	REMORA_FIELD_F_BUILTINS,   /* ".f_builtins" */
	REMORA_FIELD_F_LOCALS,     /* ".f_locals" */
	REMORA_FIELD_F_FUNC,       /* "->f_func" */
	REMORA_FIELD_F_TRACE,      /* ".f_trace" */
	REMORA_FIELD_GI_FRAME,     /* ".gi_frame" and friends */
	REMORA_FIELD_TB_NEXT,      /* ".tb_next" */
	REMORA_FIELD_TB_FRAME,     /* ".tb_frame" */
	REMORA_FIELD_WEAKLIST,     /* "->tp_weaklist" / "__weakref__" */
	REMORA_FIELD_MD_DICT,      /* module ".__dict__" (same label) */
	REMORA_FIELD_CACHE,        /* "->tp_cache" and other caches */
	REMORA_FIELD_OTHER,        /* a reference-holding C field with no name */
	REMORA_FIELD_F_OBJECT,     /* a running frame's frame object (a root) */
	REMORA_FIELD_COUNT
};

/* What a ROOTS entry is (REMORA_VIA_ROOT argument, low 16 bits). */
enum remora_root_kind {
	REMORA_ROOT_MODULES = 0,   /* interp->modules (sys.modules) */
	REMORA_ROOT_SYSDICT,       /* interp->sysdict */
	REMORA_ROOT_BUILTINS,      /* interp->builtins */
	REMORA_ROOT_IMPORTLIB,
	REMORA_ROOT_INTERP_OTHER,  /* other interpreter-state references */
	REMORA_ROOT_FRAME,         /* version 2 only: a frame's contents
	                            * (version 3 writes FIELD/LOCAL/STACK
	                            * vias with a where word) */
	REMORA_ROOT_THREAD_DICT,   /* tstate->dict */
	REMORA_ROOT_THREAD_EXC,    /* current / handled exception */
	REMORA_ROOT_THREAD_OTHER,  /* context, async generator hooks, ... */
	REMORA_ROOT_GC,            /* an object on a GC generation list that
	                            * nothing else reached */
	/* Version 3: the members of ROOT_INTERP_OTHER, ROOT_THREAD_EXC and
	 * ROOT_THREAD_OTHER have kinds of their own (heapy's RootState
	 * member names). */
	REMORA_ROOT_INTERP_DICT,
	REMORA_ROOT_BUILTINS_COPY,
	REMORA_ROOT_IMPORT_FUNC,
	REMORA_ROOT_CODEC_SEARCH_PATH,
	REMORA_ROOT_CODEC_SEARCH_CACHE,
	REMORA_ROOT_CODEC_ERROR_REGISTRY,
	REMORA_ROOT_MODULES_BY_INDEX,
	REMORA_ROOT_CUREXC_TYPE,
	REMORA_ROOT_CUREXC_VALUE,
	REMORA_ROOT_CUREXC_TRACEBACK,
	REMORA_ROOT_CURRENT_EXCEPTION, /* 3.12+ tstate->current_exception */
	REMORA_ROOT_EXC_VALUE,     /* a handled exception (exc_info chain) */
	REMORA_ROOT_CONTEXT,
	REMORA_ROOT_ASYNC_GEN_FIRSTITER,
	REMORA_ROOT_ASYNC_GEN_FINALIZER,
	REMORA_ROOT_PROFILEOBJ,
	REMORA_ROOT_TRACEOBJ,
	REMORA_ROOT_DELETE_LATER,
	REMORA_ROOT_SHIM_CODE,     /* 3.12+: the code of a C-stack shim frame */
	REMORA_ROOT_COUNT
};

static inline uint64_t remora_via(enum remora_via_kind kind, uint64_t arg)
{
	return ((uint64_t)kind << 56) | (arg & ((UINT64_C(1) << 56) - 1));
}

static inline enum remora_via_kind remora_via_kind_of(uint64_t via)
{
	return (enum remora_via_kind)(via >> 56);
}

static inline uint64_t remora_via_arg(uint64_t via)
{
	return via & ((UINT64_C(1) << 56) - 1);
}

/* On-disk record heads and fixed payloads (all fields little-endian). */
struct remora_rec_head {
	uint32_t tag;
	uint32_t n;
};

/* A node as the walker describes it to remora_writer_node(); not the
 * on-disk layout (that is a head, struct remora_rec_node_fixed, then the
 * optional extra word and the repr).  extra is written only when flags has
 * REMORA_NODE_INLINE_VALUES; flags must fit in 24 bits. */
struct remora_rec_node {
	uint64_t address;
	uint64_t type;
	uint64_t size;
	uint64_t extra;
	uint32_t flags;
	uint32_t reserved;
};

/* The fixed part of a NODE payload on disk. */
struct remora_rec_node_fixed {
	uint64_t address;
	uint64_t type;
	uint64_t size;
};

enum {
	REMORA_NODE_REPR_MAX = 255,  /* repr length field: bits 0..7 of n */
	REMORA_NODE_FLAGS_SHIFT = 8, /* flags: bits 8..31 of n */
};

static inline uint32_t remora_node_head_n(uint32_t flags, uint32_t repr_len)
{
	return flags << REMORA_NODE_FLAGS_SHIFT | (repr_len & REMORA_NODE_REPR_MAX);
}

static inline uint32_t remora_node_repr_len(uint32_t n)
{
	return n & REMORA_NODE_REPR_MAX;
}

static inline uint32_t remora_node_flags(uint32_t n)
{
	return n >> REMORA_NODE_FLAGS_SHIFT;
}

/* Offset of the repr in a NODE payload (the extra word precedes it). */
static inline uint32_t remora_node_repr_offset(uint32_t n)
{
	return (uint32_t)sizeof(struct remora_rec_node_fixed) +
	       (remora_node_flags(n) & REMORA_NODE_INLINE_VALUES ? 8u : 0u);
}

/* Payload length of a NODE record with head count n. */
static inline uint32_t remora_node_payload_size(uint32_t n)
{
	return remora_node_repr_offset(n) + ((remora_node_repr_len(n) + 7u) & ~7u);
}

struct remora_rec_edge {
	uint64_t target;
	uint64_t via;
};

struct remora_rec_root {
	uint64_t target;
	uint64_t via;
	uint64_t where;
};

/* A ROOTS entry's where word (see ROOTS above); thread and frame are
 * 0-based, -1 for none.  The walker numbers at most MAX_FRAMES (walker.c)
 * frames, far below the field's saturation. */
static inline uint64_t remora_root_where(uint64_t interp, int64_t thread,
					 int64_t frame)
{
	uint64_t t = thread < 0 ? 0 : (uint64_t)thread + 1;
	uint64_t f = frame < 0 ? 0 : (uint64_t)frame + 1;
	if (t > 0xffff)
		t = 0xffff;
	if (f > 0xffffffff)
		f = 0xffffffff;
	return (interp & 0xffff) | t << 16 | f << 32;
}

/* The parts of a where word: interpreter index, thread index + 1 and
 * frame depth + 1 (0: none). */
static inline uint64_t remora_where_interp(uint64_t where)
{
	return where & 0xffff;
}

static inline uint64_t remora_where_thread(uint64_t where)
{
	return where >> 16 & 0xffff;
}

static inline uint64_t remora_where_frame(uint64_t where)
{
	return where >> 32;
}

struct remora_rec_thread {
	uint64_t interp;
	uint64_t index;
	uint64_t thread_id;
	uint64_t native_id;
};

struct remora_rec_type {
	uint64_t address;
	uint64_t flags;
	uint16_t name_len;
	uint16_t module_len;
	uint32_t shape;
};

enum {
	REMORA_SHAPE_BASICSIZE = (1u << 24) - 1,
	REMORA_SHAPE_INLINE = 1u << 31,
};

struct remora_rec_end {
	uint64_t node_count;
	uint64_t edge_count;
	uint64_t type_count;
	uint64_t root_count;
};

#endif
