/* layout.h — the layout descriptor: every CPython struct offset, size and
 * symbol address the walker uses, as one flat array of int64 values.
 *
 * Who fills it: gdb's Python (gdb/remora/layout.py) evaluates each field's
 * spec (remora_layout_spec()) against the target's DWARF and writes the
 * array into the agent's argument block.  The walker is version-independent:
 * version differences live here, as alternatives in the specs, and in the
 * few flags of struct remora_layout.
 *
 * Invariant: a value is either a resolved offset/size/address (>= 0) or
 * REMORA_LAYOUT_ABSENT; the walker checks REMORA_LAYOUT_ABSENT before using
 * any field marked optional and bounds-checks every offset it reads through.
 */
#ifndef REMORA_LAYOUT_H
#define REMORA_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

enum { REMORA_LAYOUT_ABSENT = -1 };

enum remora_layout_field {
	/* PyObject / PyVarObject */
	RL_OB_REFCNT,
	RL_OB_TYPE,
	RL_OB_SIZE,
	/* PyTypeObject / PyHeapTypeObject */
	RL_TP_NAME,
	RL_TP_BASICSIZE,
	RL_TP_ITEMSIZE,
	RL_TP_FLAGS,
	RL_TP_TRAVERSE,
	RL_TP_DEALLOC,
	RL_TP_IS_GC,
	RL_TP_DICT,
	RL_TP_BASE,
	RL_TP_BASES,
	RL_TP_MRO,
	RL_TP_CACHE,
	RL_TP_SUBCLASSES,
	RL_TP_WEAKLIST,
	RL_TP_DICTOFFSET,
	RL_TP_MEMBERS,
	RL_TP_DOC,
	RL_HT_NAME,
	RL_HT_SLOTS,
	RL_HT_QUALNAME,
	RL_HT_CACHED_KEYS,
	RL_HT_MODULE,
	RL_SIZEOF_TYPE,
	RL_SIZEOF_HEAPTYPE,
	/* PyMemberDef */
	RL_MEMBER_NAME,
	RL_MEMBER_TYPE,
	RL_MEMBER_OFFSET,
	RL_MEMBER_FLAGS,
	RL_SIZEOF_MEMBER,
	/* PyDictObject and its keys */
	RL_DICT_USED,
	RL_DICT_KEYS,
	RL_DICT_VALUES,
	RL_DK_REFCNT,
	RL_DK_LOG2_SIZE,
	RL_DK_LOG2_INDEX_BYTES,
	RL_DK_KIND,
	RL_DK_USABLE,
	RL_DK_NENTRIES,
	RL_DK_INDICES,
	RL_SIZEOF_DICTKEYS,
	RL_SIZEOF_DICTKEYENTRY,
	RL_SIZEOF_DICTUNICODEENTRY,
	/* list, tuple, set */
	RL_LIST_ITEMS,
	RL_LIST_ALLOCATED,
	RL_TUPLE_ITEMS,
	RL_SET_USED,
	RL_SET_MASK,
	RL_SET_TABLE,
	RL_SET_SMALLTABLE,
	RL_SET_DUMMY,            /* the deleted-entry marker object */
	RL_SIZEOF_SETENTRY,
	/* str */
	RL_STR_LENGTH,
	RL_STR_STATE,
	RL_STR_WSTR,             /* 3.11 only */
	RL_STR_UTF8_LENGTH,
	RL_STR_UTF8,
	RL_STR_WSTR_LENGTH,      /* 3.11 only */
	RL_STR_DATA,             /* PyUnicodeObject.data (legacy strings) */
	RL_SIZEOF_ASCII,
	RL_SIZEOF_COMPACT,
	RL_SIZEOF_UNICODE,
	/* int */
	RL_LONG_DIGITS,
	RL_LONG_TAG,             /* 3.12+: lv_tag; absent before */
	/* bytes, bytearray */
	RL_BYTES_SVAL,
	RL_BYTEARRAY_ALLOC,
	/* module */
	RL_MODULE_DICT,
	RL_MODULE_DEF,
	RL_MODULEDEF_SIZE,
	RL_MODULEDEF_TRAVERSE,
	RL_MODULE_STATE,
	/* function */
	RL_FUNC_GLOBALS,
	RL_FUNC_BUILTINS,
	RL_FUNC_NAME,
	RL_FUNC_QUALNAME,
	RL_FUNC_CODE,
	RL_FUNC_DEFAULTS,
	RL_FUNC_KWDEFAULTS,
	RL_FUNC_CLOSURE,
	RL_FUNC_DOC,
	RL_FUNC_DICT,
	RL_FUNC_MODULE,
	RL_FUNC_ANNOTATIONS,
	/* code */
	RL_CO_CONSTS,
	RL_CO_NAMES,
	RL_CO_EXCEPTIONTABLE,
	RL_CO_LOCALSPLUSNAMES,
	RL_CO_LOCALSPLUSKINDS,
	RL_CO_FILENAME,
	RL_CO_NAME,
	RL_CO_QUALNAME,
	RL_CO_LINETABLE,
	RL_CO_NLOCALSPLUS,
	RL_CO_STACKSIZE,
	RL_CO_EXTRA,
	RL_CO_CODE_CACHED,       /* 3.12: _co_cached; absent before */
	RL_CO_CODE,              /* 3.11: _co_code; absent elsewhere */
	RL_CODEEXTRA_SIZE,       /* _PyCodeObjectExtra.ce_size */
	RL_CODEEXTRA_EXTRAS,     /* offset of ce_extras */
	/* cell, method */
	RL_CELL_REF,
	RL_METHOD_FUNC,
	RL_METHOD_SELF,
	/* _PyInterpreterFrame */
	RL_IFRAME_CODE,
	RL_IFRAME_FUNC,
	RL_IFRAME_GLOBALS,
	RL_IFRAME_BUILTINS,
	RL_IFRAME_LOCALS,
	RL_IFRAME_FRAME_OBJ,
	RL_IFRAME_PREVIOUS,
	RL_IFRAME_STACKTOP,
	RL_IFRAME_OWNER,
	RL_IFRAME_LOCALSPLUS,
	/* runtime, interpreter, thread */
	RL_RUNTIME_ADDR,
	RL_RUNTIME_INTERP_HEAD,
	RL_INTERP_NEXT,
	RL_INTERP_THREADS_HEAD,
	RL_INTERP_MODULES,
	RL_INTERP_SYSDICT,
	RL_INTERP_BUILTINS,
	RL_INTERP_IMPORTLIB,
	RL_INTERP_DICT,
	RL_INTERP_BUILTINS_COPY,
	RL_INTERP_IMPORT_FUNC,
	RL_INTERP_CODEC_SEARCH_PATH,
	RL_INTERP_CODEC_SEARCH_CACHE,
	RL_INTERP_CODEC_ERROR_REGISTRY,
	RL_INTERP_MODULES_BY_INDEX,
	RL_INTERP_GC_GENERATIONS,
	RL_INTERP_GC_PERMANENT,
	RL_SIZEOF_GC_GENERATION,
	RL_SIZEOF_GC_HEAD,
	RL_TSTATE_NEXT,
	RL_TSTATE_CFRAME,        /* 3.11/3.12: tstate->cframe */
	RL_CFRAME_CURRENT,       /* _PyCFrame.current_frame */
	RL_TSTATE_CURRENT_FRAME, /* 3.13: tstate->current_frame */
	RL_TSTATE_DICT,
	RL_TSTATE_CUREXC_TYPE,   /* 3.11 */
	RL_TSTATE_CUREXC_VALUE,  /* 3.11 */
	RL_TSTATE_CUREXC_TB,     /* 3.11 */
	RL_TSTATE_CURRENT_EXC,   /* 3.12+ */
	RL_TSTATE_EXC_INFO,
	RL_EXCITEM_VALUE,
	RL_EXCITEM_PREVIOUS,
	RL_TSTATE_CONTEXT,
	RL_TSTATE_ASYNC_GEN_FIRSTITER,
	RL_TSTATE_ASYNC_GEN_FINALIZER,
	RL_TSTATE_PROFILEOBJ,
	RL_TSTATE_TRACEOBJ,
	RL_TSTATE_DELETE_LATER,
	RL_TSTATE_NATIVE_ID,
	RL_TSTATE_THREAD_ID,     /* threading.get_ident() of the thread */
	/* static type objects the walker recognises by address */
	RL_TYPE_TYPE,
	RL_TYPE_OBJECT,
	RL_TYPE_DICT,
	RL_TYPE_LIST,
	RL_TYPE_TUPLE,
	RL_TYPE_STR,
	RL_TYPE_INT,
	RL_TYPE_BOOL,
	RL_TYPE_FLOAT,
	RL_TYPE_SET,
	RL_TYPE_FROZENSET,
	RL_TYPE_BYTES,
	RL_TYPE_BYTEARRAY,
	RL_TYPE_MODULE,
	RL_TYPE_FUNCTION,
	RL_TYPE_CODE,
	RL_TYPE_CELL,
	RL_TYPE_METHOD,
	RL_TYPE_GEN,
	RL_TYPE_CORO,
	RL_TYPE_ASYNCGEN,
	RL_GEN_IFRAME,           /* PyGenObject.gi_iframe */
	RL_TYPE_FRAME,
	RL_FRAME_FRAME,          /* PyFrameObject.f_frame */
	RL_FRAME_DATA,           /* PyFrameObject._f_frame_data */
	RL_DEQUE_TRAVERSE,       /* deque is a heap type in 3.12: found by tp_traverse */
	RL_DEQUE_LEFTINDEX,
	RL_SIZEOF_DEQUE_BLOCK,
	RL_TYPE_ODICT,
	RL_ODICT_FIRST,
	RL_ODICT_FAST_NODES_SIZE,
	RL_SIZEOF_ODICTNODE,
	RL_FRAME_BACK,
	RL_FRAME_TRACE,
	RL_GEN_CODE,             /* 3.11 only */
	RL_GEN_NAME,
	RL_GEN_QUALNAME,
	RL_GEN_EXC_VALUE,
	RL_GEN_FRAME_STATE,
	RL_EXC_DICT,
	RL_EXC_ARGS,
	RL_EXC_NOTES,
	RL_EXC_TRACEBACK,
	RL_EXC_CONTEXT,
	RL_EXC_CAUSE,
	RL_TYPE_BASE_EXCEPTION,
	RL_TYPE_CFUNCTION,
	RL_TYPE_CMETHOD,
	RL_CFUNC_SELF,
	RL_CFUNC_MODULE,
	RL_CMETHOD_CLASS,
	RL_TYPE_TRACEBACK,
	RL_TB_NEXT,
	RL_TB_FRAME,
	RL_DEQUE_LEFTBLOCK,
	RL_DEQUE_BLOCK_DATA,
	RL_DEQUE_BLOCK_RIGHTLINK,
	RL_TYPE_PROPERTY,
	RL_PROPERTY_NAME,        /* 3.10+: not a member, visited by traverse */
	RL_TYPE_METHODWRAPPER,
	RL_METHODWRAPPER_DESCR,
	RL_METHODWRAPPER_SELF,
	RL_SUBTYPE_DEALLOC,       /* tp_dealloc of classes made by `class` */
	RL_STRUCTSEQ_TRAVERSE,    /* never called: needs a thread state in 3.12 */
	RL_EMPTY_KEYS,           /* unused, always ABSENT (its index stays) */
	RL_RUNTIME_FINALIZING,   /* _PyRuntime._finalizing (gdb's side only) */
	RL_DICTVALUES_VALUES,    /* PyDictValues.values: 0, 8 from 3.13 */
	RL_DICTVALUES_CAPACITY,  /* 3.13+: the values' header */
	RL_DICTVALUES_VALID,
	RL_DICTVALUES_EMBEDDED,
	RL_IFRAME_STACKPOINTER,  /* 3.14+: replaces stacktop */
	RL_MODULE_STATE_SIZE,    /* 3.15+: the module's own m_size ... */
	RL_MODULE_STATE_TRAVERSE, /* ... and m_traverse (md_def is gone) */
	RL_TYPE_FROZENDICT,      /* 3.15+: a dict with a hash */
	RL_BYTEARRAY_BYTES_OBJECT, /* 3.15+: the buffer is a bytes object */
	/* 3.13+: where _PyRuntime's _Py_DebugOffsets lies, and where in it the
	 * interpreter states its own offsets (layout.py compares them with
	 * the descriptor's; the walker does not use them) */
	RL_RUNTIME_DEBUG_OFFSETS,
	RL_DBG_VERSION,
	RL_DBG_RUNTIME_FINALIZING,
	RL_DBG_RUNTIME_INTERP_HEAD,
	RL_DBG_INTERP_NEXT,
	RL_DBG_INTERP_THREADS_HEAD,
	RL_DBG_INTERP_MODULES,
	RL_DBG_INTERP_SYSDICT,
	RL_DBG_INTERP_BUILTINS,
	RL_DBG_TSTATE_NEXT,
	RL_DBG_TSTATE_CURRENT_FRAME,
	RL_DBG_IFRAME_PREVIOUS,
	RL_DBG_IFRAME_CODE,
	RL_DBG_IFRAME_LOCALSPLUS,
	RL_DBG_IFRAME_OWNER,
	RL_DBG_OB_TYPE,
	RL_DBG_TP_NAME,
	RL_DBG_TP_FLAGS,
	RL_DBG_TUPLE_ITEMS,
	RL_DBG_LIST_ITEMS,
	RL_DBG_DICT_KEYS,
	RL_DBG_DICT_VALUES,
	/* CPython 3.8 to 3.10 (specs ranged [-3.10]) */
	RL_DK_SIZE,              /* PyDictKeysObject.dk_size (3.8-3.10; 3.11+: log2) */
	RL_TSTATE_FRAME,         /* the thread's newest frame object (3.8-3.10) */
	RL_INTERP_TSTATE_HEAD,   /* the first thread state (3.8-3.10) */
	RL_RUNTIME_GC_GENERATIONS, /* 3.8: the GC lives in the runtime */
	RL_RUNTIME_GC_PERMANENT,
	RL_FRAME_CODE,           /* frame objects of 3.8-3.10 (PyFrameObject) */
	RL_FRAME_BUILTINS,
	RL_FRAME_GLOBALS,
	RL_FRAME_LOCALS,
	RL_FRAME_VALUESTACK,
	RL_FRAME_STACKTOP,       /* a pointer, NULL while it runs (3.8, 3.9) */
	RL_FRAME_STACKDEPTH,     /* an int (3.10) */
	RL_FRAME_GEN,
	RL_FRAME_LOCALSPLUS,
	RL_SIZEOF_FRAME,
	RL_GEN_FRAME,            /* a generator's frame object (3.8-3.10) */
	RL_CO_NLOCALS,           /* code objects of 3.8-3.10 */
	RL_CO_CELLVARS,
	RL_CO_FREEVARS,
	RL_CO_VARNAMES,
	RL_CO_CELL2ARG,
	RL_CO_ZOMBIEFRAME,
	RL_CO_CODE_BYTES,        /* the bytecode, a bytes object (3.8-3.10) */
	RL_EXCITEM_TYPE,         /* 3.8-3.10: type, value, traceback */
	RL_EXCITEM_TRACEBACK,
	RL_CO_OPCACHE,           /* 3.8-3.10: the opcode cache, counted */
	RL_CO_OPCACHE_SIZE,      /* by code.__sizeof__ (an unsigned char) */
	RL_SIZEOF_OPCACHE,
	/* Free-threaded builds (3.13t+): the object header's reference
	 * counts and GC bits, and mimalloc's heaps, where the GC finds its
	 * objects (no GC lists); absent elsewhere. */
	RL_OB_REF_LOCAL,         /* uint32; UINT32_MAX: immortal */
	RL_OB_REF_SHARED,        /* int64, the count shifted left by 2 */
	RL_OB_GC_BITS,           /* uint8; bit 0: tracked by the GC */
	RL_RUNTIME_MEM_DEBUG,    /* int: the debug allocator puts 16 bytes first */
	RL_TSTATE_MI_HEAPS,      /* _PyThreadStateImpl: mi_heap_t[4] */
	RL_TSTATE_MI_INITIALIZED,
	RL_SIZEOF_MI_HEAP,
	RL_MI_HEAP_PAGES,        /* mi_page_queue_t[], up to thread_delayed_free */
	RL_MI_HEAP_DELAYED_FREE,
	RL_MI_HEAP_PAGE_COUNT,
	RL_SIZEOF_MI_PAGE_QUEUE, /* its first member is the first page */
	RL_SIZEOF_MI_PAGE,       /* a page is its segment's first slice entry */
	RL_MI_PAGE_SLICE_COUNT,
	RL_MI_PAGE_TAG_BIT,      /* bit offset of the 4-bit heap tag */
	RL_MI_PAGE_CAPACITY,     /* uint16 */
	RL_MI_PAGE_USED,         /* uint32 */
	RL_MI_PAGE_BLOCK_SIZE,   /* uint32 */
	RL_MI_PAGE_FREE,
	RL_MI_PAGE_LOCAL_FREE,
	RL_MI_PAGE_XTHREAD_FREE, /* low 2 bits: a state */
	RL_MI_PAGE_NEXT,
	RL_MI_SEGMENT_ABANDONED_NEXT,
	RL_MI_SEGMENT_SLICE_ENTRIES,
	RL_MI_SEGMENT_SLICES,
	RL_INTERP_MI_POOL,       /* the abandoned segments of exited threads */
	RL_MI_POOL_ABANDONED,    /* tagged: the low 25 bits are a counter */
	RL_MI_POOL_VISITED,
	RL_MI_PAGE_START,
	RL_INTERP_MI_SUBPROC,
	RL_TSTATE_MI_SUBPROC,
	RL_MI_SUBPROC_ABANDONED_COUNT,
	RL_MI_SUBPROC_OS_COUNT,
	RL_MI_SUBPROC_OS_LIST,
	RL_MI_SEGMENT_OS_NEXT,
	RL_MI_SEGMENT_SUBPROC,
	RL_MI_ARENAS,
	RL_MI_ARENA_COUNT,
	RL_MI_ARENA_START,
	RL_MI_ARENA_FIELD_COUNT,
	RL_MI_ARENA_ABANDONED,
	/* a frame's line (PyFrame_GetLineNumber): the line table, the
	 * instruction the frame is at, and the line a tracer set */
	RL_CO_FIRSTLINENO,
	RL_CO_CODE_ADAPTIVE,     /* 3.11+: the instructions */
	RL_FRAME_LASTI,          /* 3.8-3.10: the last instruction's offset */
	RL_FRAME_LINENO,
	RL_IFRAME_INSTR,         /* 3.11-3.12 prev_instr, 3.13+ instr_ptr */
	/* tracemalloc's state, for byprod (read by the gdb package):
	 * 3.8-3.11 an exported config and static tables, 3.12+ in _PyRuntime */
	RL_TM_CONFIG,            /* _Py_tracemalloc_config (3.8-3.11) */
	RL_TM_CONFIG_TRACING,    /* its `tracing` */
	RL_TM_TRACES,            /* the static tracemalloc_traces (3.8-3.11) */
	RL_RUNTIME_TM_TRACING,   /* 3.12+: offsets in _PyRuntime */
	RL_RUNTIME_TM_TRACES,
	/* called by the agent to give back the relators a NyHeapDef's
	 * relate passes (heapy's contract: it owns them) */
	RL_PY_DECREF,
	/* pymalloc's state, for hp.memory() (read by the gdb package):
	 * 3.8-3.11 static variables, 3.12 in each interpreter, 3.13+ a
	 * pointer in each interpreter; the same _obmalloc_mgmt fields */
	RL_OBM_ARENAS,           /* 3.8-3.11: &arenas */
	RL_OBM_MAXARENAS,        /* &maxarenas */
	RL_OBM_NTIMES,           /* &ntimes_arena_allocated */
	RL_OBM_HIGHWATER,        /* &narenas_highwater */
	RL_INTERP_OBMALLOC,      /* 3.12+: the state in PyInterpreterState */
	RL_OBMALLOC_MGMT,        /* its mgmt */
	RL_OBMGMT_ARENAS,
	RL_OBMGMT_MAXARENAS,
	RL_OBMGMT_NTIMES,
	RL_OBMGMT_HIGHWATER,
	/* hp.memory()'s interpreter structures (read by the gdb package) */
	RL_SIZEOF_RUNTIME,       /* _PyRuntimeState: what is static in it */
	RL_SIZEOF_INTERP,        /* PyInterpreterState */
	RL_SIZEOF_TSTATE,        /* a thread's state as allocated */
	RL_TSTATE_DATASTACK,     /* 3.11+: the frame stack's last chunk */
	RL_CHUNK_PREVIOUS,       /* _PyStackChunk previous */
	RL_CHUNK_SIZE,           /* its size, header included */
	RL_FIELD_COUNT
};

enum remora_layout_magic { REMORA_LAYOUT_MAGIC = 0x52454d4f4c415931ull };

/* The descriptor handed to the walker.  Filled by gdb; plain data. */
struct remora_layout {
	uint64_t magic;          /* REMORA_LAYOUT_MAGIC */
	uint32_t field_count;    /* RL_FIELD_COUNT of the writer */
	uint32_t python_version; /* PY_VERSION_HEX */
	int64_t v[RL_FIELD_COUNT];
};

/* Type flags the walker tests (stable across 3.11-3.13, bar INLINE_VALUES). */
enum remora_tpflags {
	RTPF_INLINE_VALUES = 1ul << 2,    /* 3.13+ */
	RTPF_MANAGED_WEAKREF = 1ul << 3,  /* 3.12+ */
	RTPF_MANAGED_DICT = 1ul << 4,
	RTPF_HEAPTYPE = 1ul << 9,
	RTPF_READY = 1ul << 12,
	RTPF_HAVE_GC = 1ul << 14,
	RTPF_LONG_SUBCLASS = 1ul << 24,
	RTPF_LIST_SUBCLASS = 1ul << 25,
	RTPF_TUPLE_SUBCLASS = 1ul << 26,
	RTPF_BYTES_SUBCLASS = 1ul << 27,
	RTPF_UNICODE_SUBCLASS = 1ul << 28,
	RTPF_DICT_SUBCLASS = 1ul << 29,
	RTPF_TYPE_SUBCLASS = 1ul << 31,
};

/* The name and gdb spec of a field, for the filler (gdb/remora/layout.py).
 * Spec grammar: alternatives separated by " | ", each one of
 *   "off TYPE a.b.c"   offset of member path a.b.c in TYPE
 *   "bit TYPE a.b.c"   the same in bits (a bit-field's)
 *   "size TYPE"        sizeof(TYPE)
 *   "addr SYMBOL"      address of a global symbol
 * A TYPE or SYMBOL written NAME@FILE is the static one defined in a source
 * file whose name ends with FILE.
 *   "ptr SYMBOL"       the pointer value stored in a global variable
 *   "const N"          the number N
 * A spec starting with "?" is optional: ABSENT when no alternative resolves.
 * A spec starting with a range of minor versions, "[3.11-] ...",
 * "[-3.10] ...", "[3.9-3.10] ...", is ABSENT outside it and the rest of
 * the spec inside it.
 * Returns NULL for an index out of range. */
struct remora_layout_spec {
	const char *name;
	const char *spec;
};
__attribute__((visibility("default")))
const struct remora_layout_spec *remora_layout_spec_get(unsigned int field);

/* Whether a field with this spec must resolve for CPython python_version
 * (PY_VERSION_HEX): not when optional, nor outside its version range. */
bool remora_layout_spec_required(const char *spec, uint32_t python_version);

/* Checks that every required field is present.  Returns the index of the
 * first missing required field, or -1 if the layout is complete. */
int remora_layout_check(const struct remora_layout *layout);

#endif
