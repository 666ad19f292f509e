/* walker.c — the heap walk.  Interface and invariants: walker.h.
 * Snapshot format it produces: snapshot_format.h.  Offsets it uses:
 * layout.h (filled from the target's DWARF by gdb/remora/layout.py).
 *
 * The walk is a depth-first search with an explicit work stack:
 *
 *   roots (interpreters, threads' frames, GC lists)
 *      | walk_ref(): record edge, mark, push if unmarked
 *      v
 *   work stack --pop--> walk_object(): validate header and type,
 *                        compute size, write NODE, then its edges
 *
 * Marks live in a bitmap with one bit per 8-byte word of every readable
 * segment (objects are 8-aligned and at least 16 bytes, so no two share a
 * bit).  The bitmap is mapped MAP_NORESERVE, so only the pages covering
 * words that hold objects are ever touched: about heap size / 64 bytes.
 * After a push the address is marked, so every object is pushed at most
 * once and written at most once.
 *
 * Types are looked up in a small open-addressing cache (struct walk_type)
 * that says how to size and traverse their instances; a type's TYPE
 * record is written the first time one of its instances is.
 */
#include "walker.h"

#include <string.h>
#include <sys/mman.h>

#include "sys.h"

enum walk_kind {
	WK_OBJECT,     /* no referents known (plain object base) */
	WK_OPAQUE,     /* not GC, no layout: no referents */
	WK_TRAVERSE,   /* GC type without layout: tp_traverse (agent only) */
	WK_GEN,        /* generators, coroutines: traverse, sized by frame */
	WK_FRAME,      /* frame objects: traverse, sized by frame */
	WK_DEQUE,      /* collections.deque: traverse, sized by blocks */
	WK_DICT,
	WK_ODICT,      /* collections.OrderedDict: a dict plus its node list */
	WK_LIST,
	WK_TUPLE,
	WK_STR,
	WK_INT,
	WK_SET,
	WK_BYTEARRAY,
	WK_TYPE,
	WK_MODULE,
	WK_FUNCTION,
	WK_CODE,
	WK_CELL,
	WK_METHOD,
};

struct walk_type {
	uint64_t addr;        /* 0: empty slot */
	uint64_t flags;       /* tp_flags */
	int64_t basicsize;
	int64_t itemsize;
	int64_t dictoffset;   /* own tp_dictoffset */
	int64_t base_dictoffset; /* tp_dictoffset of the solid (static) base */
	uint64_t traverse;    /* tp_traverse of the solid base (WK_TRAVERSE) */
	uint64_t base;        /* the solid base (the type itself if no class) */
	uint32_t presize;     /* pre-header bytes getsizeof adds */
	uint8_t kind;         /* enum walk_kind of the solid base */
	uint8_t valid;
	uint8_t emitted;      /* TYPE record written */
	uint8_t is_class;     /* made by a class statement */
	uint8_t sizer;        /* enum walk_sizer of the solid base */
	uint8_t heapdef;      /* 1 + its entry in walker.heapdefs; 0: none */
	int64_t sizer_basicsize; /* the solid base's basic size (its layout) */
};

/* heapy's interface for extension types (guppy's heapdef.h; README,
 * "Extension types"): a module in sys.modules whose _NyHeapDefs_ is a
 * capsule of a NyHeapDef array, ended by an entry with no type, says
 * how its types' instances are sized, traversed and related. */
struct walk_heapdef {
	uint64_t type, size, traverse, relate;
};

enum {
	HEAPDEFS_MAX = 64,        /* entries kept, of every module */
	HEAPDEF_ENTRY = 64,       /* sizeof(NyHeapDef): int, pointer x 7 */
	NYHR_ATTRIBUTE = 1, NYHR_INDEXVAL, NYHR_INDEXKEY, NYHR_INTERATTR,
	NYHR_HASATTR, NYHR_LOCAL_VAR, NYHR_CELL, NYHR_STACK, NYHR_INSET,
};

/* The argument structs of a NyHeapDef's traverse and relate. */
struct ny_traverse {
	int flags;
	void *hv, *obj, *arg;
	int (*visit)(void *, void *);
	void *hiding_tag;
};

struct ny_relate {
	int flags;
	void *hv, *src, *tgt;
	int (*visit)(unsigned int relatype, void *relator, struct ny_relate *r);
};

/* Extension types whose __sizeof__ counts memory outside the object,
 * known by tp_name and basic size; their instances' sizes are read from
 * their fields (the same on every path: no code runs in the target). */
enum walk_sizer {
	SIZER_NONE,
	SIZER_ARRAY,     /* array.array: + allocated * ob_descr->itemsize */
	SIZER_BYTESIO,   /* _io.BytesIO: + its buffer's size unless shared */
	SIZER_STRUCT,    /* _struct.Struct: + its format codes */
	SIZER_BUFFERED,  /* _io.Buffered{Reader,Writer,Random}: + buffer_size */
	SIZER_ELEMENT,   /* xml.etree.ElementTree.Element: + extra, children */
	SIZER_DECIMAL,   /* decimal.Decimal: + its digits' words if allocated */
	SIZER_NDARRAY,   /* numpy.ndarray: + dims and strides, + data if owned */
	SIZER_STGDICT,   /* ctypes' StgDict (3.8-3.12): a dict, + its extras */
	SIZER_PRODUCT,   /* itertools.product: + a word per pool */
	SIZER_COMBINATIONS, /* itertools.combinations(_with_replacement): + r words */
	SIZER_PERMUTATIONS, /* itertools.permutations: + n + r words */
	SIZER_PICKLER,   /* _pickle.Pickler: + memo table, output buffer */
	SIZER_UNPICKLER, /* _pickle.Unpickler: + memo, marks, its strings */
	SIZER_SIMPLEQUEUE, /* 3.15's _queue.SimpleQueue: + its ring's slots */
	SIZER_CTYPE,     /* 3.13+'s ctypes types: + their StgInfo's extras */
	SIZER_PARSER_ST, /* 3.8-3.9's parser.st: + its concrete syntax tree */
	/* numpy's fixed-size scalars: + their item size, SIZER_SCALAR + n */
	SIZER_SCALAR = 64,
};

/* Whether s begins with p (the agent has no strncmp). */
static bool walk_prefix(const char *s, const char *p)
{
	size_t n = strlen(p);
	return strlen(s) >= n && memcmp(s, p, n) == 0;
}

/* The item size of numpy's fixed-size scalar type named "numpy.NAME"
 * (numpy's own names and C aliases), or 0. */
static unsigned int numpy_scalar_size(const char *name)
{
	static const struct {
		const char *name;
		unsigned int size;
	} named[] = {
		{ "bool_", 1 },      { "bool", 1 },        { "byte", 1 },
		{ "ubyte", 1 },      { "short", 2 },       { "ushort", 2 },
		{ "intc", 4 },       { "uintc", 4 },       { "longlong", 8 },
		{ "ulonglong", 8 },  { "half", 2 },        { "single", 4 },
		{ "double", 8 },     { "longdouble", 16 }, { "csingle", 8 },
		{ "cdouble", 16 },   { "clongdouble", 32 }, { "datetime64", 8 },
		{ "timedelta64", 8 },
	};
	if (!walk_prefix(name, "numpy."))
		return 0;
	name += 6;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(name) == strlen(named[i].name) &&
		    memcmp(name, named[i].name, strlen(name)) == 0)
			return named[i].size;
	/* int8 ... uint64, float16 ... float128, complex64 ... complex256 */
	static const char *const kinds[] = { "uint", "int", "float", "complex" };
	const char *digits = NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !digits; i++)
		if (walk_prefix(name, kinds[i]))
			digits = name + strlen(kinds[i]);
	if (!digits)
		return 0;
	unsigned int bits = 0;
	for (; *digits >= '0' && *digits <= '9' && bits < 1000; digits++)
		bits = bits * 10 + (unsigned int)(*digits - '0');
	return !*digits && bits >= 8 && bits <= 256 && bits % 8 == 0 ? bits / 8 : 0;
}

/* A free-threaded build's mimalloc page being read: its blocks, and
 * which of them are free. */
struct walk_mi_page {
	uint64_t start, block, capacity;
	uint8_t free[8192 / 8]; /* MI_PAGE_BLOCKS_MAX bits */
};

struct walker {
	struct walk_mi_page mi_page; /* free-threaded builds: the page read */
	uint64_t traverse_dict; /* the dict at tp_dictoffset of the object traversed */
	struct remora_reader *r;
	uint64_t root_where;  /* where word of the roots being written */
	const int64_t *L;
	struct remora_writer *out;
	struct remora_walk_stats *stats;
	bool self;
	volatile uint64_t *progress;
	unsigned int py_minor;

	uint8_t *bitmap;
	size_t bitmap_bytes;
	uint64_t readable_bytes;   /* sum of the reader's segments */

	uint64_t *stack;
	size_t stack_len;
	size_t stack_cap;     /* entries */
	/* big arrays whose items are pushed a chunk at a time (walk_array) */
	struct walk_resume *resumes;
	size_t resumes_len;
	size_t resumes_cap;   /* entries */

	struct walk_type *types;
	size_t types_cap;     /* power of two */
	size_t types_len;

	uint64_t mapped;
	uint64_t threads;     /* THREAD records written */
	uint32_t snap_flags;
	int nomem;

	/* targets tp_traverse visited for the current object, so that its
	 * members add only what traverse left out (REMORA_NODE_TRAVERSED) */
	uint64_t visited[64];
	unsigned int nvisited;
	bool visited_overflow;

	bool plain_sizes;     /* remora_walk_options.plain_sizes */
	/* the NyHeapDefs, read when the first extension type is met (a heap
	 * of builtins alone never reads the modules for them) */
	uint64_t interp_head;
	bool heapdefs_read;
	struct walk_heapdef heapdefs[HEAPDEFS_MAX];
	unsigned int nheapdefs;
	/* while a NyHeapDef's traverse runs: the object and its relate */
	uint64_t relate_src, relate_fn;
};

static const int64_t ITEMS_MAX = INT64_C(1) << 40; /* no container is bigger */

/* An array of references whose edges are written and whose items are
 * still to be pushed, from `next` on. */
struct walk_resume {
	uint64_t addr;
	uint64_t n;
	uint64_t next;
};

enum {
	STACK_INITIAL = 1 << 17,     /* entries: 1 MiB */
	RESUMES_INITIAL = 1 << 12,   /* entries: 96 KiB */
	/* an array longer than this has its items pushed LAZY_CHUNK at a
	 * time, when the stack has run dry: the stack then holds at most a
	 * chunk of any one array, not a 10M-item list's 80 MB */
	LAZY_MIN = 1 << 12,
	LAZY_CHUNK = 1 << 10,
	TYPES_INITIAL = 1 << 12,
	REPR_MAX = 64,
	MAX_FRAMES = 1 << 24,        /* a thread's; a where word holds 2^32 */
	MAX_THREADS = 1 << 16,
	MAX_INTERPS = 1 << 12,
	T_OBJECT = 6,
	T_OBJECT_EX = 16,
	DICT_KEYS_GENERAL = 0,
	FRAME_OWNED_BY_FRAME_OBJECT = 2,
	FRAME_OWNED_BY_CSTACK = 3, /* 3.12 */
	FRAME_CLEARED = 4,         /* gi_frame_state */
	DEQUE_BLOCKLEN = 64,
	RTPF_BASE_EXC_SUBCLASS = 1 << 30,
};

/* ---- work memory: mmap only (invariant: no allocator) ---- */

static void *walk_map(struct walker *w, size_t bytes)
{
	long r = remora_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (remora_sys_failed(r)) {
		w->nomem = 1;
		return NULL;
	}
	void *p = (void *)r;
	w->mapped += bytes;
	if (w->mapped > w->stats->peak_mapped)
		w->stats->peak_mapped = w->mapped;
	return p;
}

static void walk_unmap(struct walker *w, void *p, size_t bytes)
{
	if (!p)
		return;
	remora_sys_munmap(p, bytes);
	w->mapped -= bytes;
}

/* Marks the snapshot partial; the first cause is the one reported. */
static void walk_partial(struct walker *w, enum remora_partial why)
{
	w->snap_flags |= REMORA_SNAP_PARTIAL;
	if (!w->stats->partial_why)
		w->stats->partial_why = why;
}

/* The lists the target links through its own memory (interpreters,
 * thread states, frames, exception states, GC lists) end, whatever a
 * corrupt image makes of them: Brent's cycle detection, O(1) memory,
 * says a list loops before it has gone about twice through the loop and
 * what leads to it (elements of the loop may be met twice).  Start with
 * { .power = 1 } and pass every element, the first included. */
struct walk_chain {
	uint64_t mark;        /* an element met before */
	uint64_t lap;         /* elements since mark */
	uint64_t power;       /* lap length at which mark moves on */
};

/* Whether elem was met before (the list loops). */
static bool walk_chain_loops(struct walk_chain *c, uint64_t elem)
{
	if (elem == c->mark)
		return true;
	if (++c->lap == c->power) {
		c->mark = elem;
		c->power *= 2;
		c->lap = 0;
	}
	return false;
}

/* ---- reads ---- */

static inline int64_t lv(const struct walker *w, enum remora_layout_field f)
{
	return w->L[f];
}

static inline bool rd(struct walker *w, uint64_t addr, void *buf, size_t len)
{
	return remora_reader_read(w->r, addr, buf, len);
}

static inline uint64_t rd_u64(struct walker *w, uint64_t addr, bool *ok)
{
	uint64_t v = 0;
	if (!remora_reader_read(w->r, addr, &v, sizeof(v)))
		*ok = false;
	return v;
}

static inline uint64_t rd_ptr(struct walker *w, uint64_t base,
			      enum remora_layout_field f)
{
	uint64_t v = 0;
	int64_t off = lv(w, f);
	if (off < 0 || !remora_reader_read(w->r, base + (uint64_t)off, &v, 8))
		return 0;
	return v;
}

static inline int64_t rd_i64(struct walker *w, uint64_t base,
			     enum remora_layout_field f, bool *ok)
{
	int64_t v = 0;
	int64_t off = lv(w, f);
	if (off < 0 || !remora_reader_read(w->r, base + (uint64_t)off, &v, 8))
		*ok = false;
	return v;
}

static inline uint8_t rd_u8(struct walker *w, uint64_t base,
			    enum remora_layout_field f, bool *ok)
{
	uint8_t v = 0;
	int64_t off = lv(w, f);
	if (off < 0 || !remora_reader_read(w->r, base + (uint64_t)off, &v, 1))
		*ok = false;
	return v;
}

static inline int32_t rd_i32(struct walker *w, uint64_t base,
			     enum remora_layout_field f, bool *ok)
{
	int32_t v = 0;
	int64_t off = lv(w, f);
	if (off < 0 || !remora_reader_read(w->r, base + (uint64_t)off, &v, 4))
		*ok = false;
	return v;
}

/* ---- reference counts ---- */

/* Free-threaded builds (3.13t+): the header holds a thread id where the
 * count was, and two counts instead (the owner's and the others'). */
static inline bool walk_ft(const struct walker *w)
{
	return lv(w, RL_OB_REF_SHARED) >= 0;
}

/* The object's reference count, as sys.getrefcount sees it (less its
 * argument's); INT64_MAX for an immortal one of a free-threaded build. */
static int64_t walk_refcnt(struct walker *w, uint64_t obj, bool *ok)
{
	if (!walk_ft(w))
		return rd_i64(w, obj, RL_OB_REFCNT, ok);
	uint32_t local = 0;
	int64_t shared = 0;
	if (!rd(w, obj + (uint64_t)lv(w, RL_OB_REF_LOCAL), &local, 4) ||
	    !rd(w, obj + (uint64_t)lv(w, RL_OB_REF_SHARED), &shared, 8)) {
		*ok = false;
		return 0;
	}
	if (local == UINT32_MAX)
		return INT64_MAX;
	return (int64_t)local + (shared >> 2);
}

/* ---- marks and the work stack ---- */

/* Assigns each segment its bit offset and maps the bitmap. */
static int walk_bitmap_init(struct walker *w)
{
	uint64_t bits = 0;
	for (size_t i = 0; i < w->r->count; i++) {
		struct remora_segment *s = &w->r->segs[i];
		s->user = bits;
		bits += (s->end - s->start + 7) / 8;
		w->readable_bytes += s->end - s->start;
	}
	w->bitmap_bytes = (size_t)((bits + 7) / 8);
	if (w->bitmap_bytes == 0)
		w->bitmap_bytes = 1;
	w->bitmap = walk_map(w, w->bitmap_bytes);
	return w->bitmap ? 0 : -1;
}

/* Marks addr; returns true if it was unmarked.  addr must be readable. */
static inline bool walk_mark(struct walker *w, const struct remora_segment *s,
			     uint64_t addr)
{
	uint64_t bit = s->user + (addr - s->start) / 8;
	uint8_t mask = (uint8_t)(1u << (bit & 7));
	uint8_t *p = &w->bitmap[bit >> 3];
	if (*p & mask)
		return false;
	*p |= mask;
	return true;
}

/* Doubles an mremap-grown array of *cap entries of size bytes. */
static bool walk_grow(struct walker *w, void **p, size_t *cap, size_t size)
{
	size_t old = *cap * size;
	size_t new = old * 2;
	long r = remora_sys_mremap(*p, old, new, MREMAP_MAYMOVE);
	if (remora_sys_failed(r)) {
		w->nomem = 1;
		return false;
	}
	*p = (void *)r;
	*cap *= 2;
	w->mapped += new - old;
	if (w->mapped > w->stats->peak_mapped)
		w->stats->peak_mapped = w->mapped;
	return true;
}

/* The segment of an object address, or NULL: misaligned or too close to
 * a segment's end to hold a header. */
static const struct remora_segment *walk_segment(struct walker *w, uint64_t target)
{
	const struct remora_segment *s = NULL;
	if ((target & 7) == 0)
		s = remora_reader_find(w->r, target);
	return s && s->end - target >= 16 ? s : NULL;
}

/* Schedules target (in segment s) unless it is marked already. */
static void walk_push(struct walker *w, const struct remora_segment *s, uint64_t target)
{
	if (!walk_mark(w, s, target))
		return;
	if (w->stack_len == w->stack_cap &&
	    !walk_grow(w, (void **)&w->stack, &w->stack_cap, sizeof(uint64_t)))
		return;
	w->stack[w->stack_len++] = target;
}

/* Records an edge (or root) to target and schedules target.  Targets that
 * are NULL are ignored; targets that are misaligned or unreadable are not
 * objects: they are dropped and the snapshot is marked partial. */
static void walk_ref(struct walker *w, uint64_t target, uint64_t via, bool root)
{
	if (target == 0)
		return;
	const struct remora_segment *s = walk_segment(w, target);
	if (!s) {
		walk_partial(w, REMORA_PARTIAL_REF);
		w->stats->read_faults++;
		return;
	}
	if (root)
		remora_writer_root(w->out, target, via, w->root_where);
	else
		remora_writer_edge(w->out, target, via);
	walk_push(w, s, target);
}

static inline void walk_edge(struct walker *w, uint64_t target, uint64_t via)
{
	walk_ref(w, target, via, false);
}

static inline void walk_field(struct walker *w, uint64_t obj,
			      enum remora_layout_field f, enum remora_field name)
{
	if (lv(w, f) < 0)
		return;
	walk_edge(w, rd_ptr(w, obj, f), remora_via(REMORA_VIA_FIELD, name));
}

/* ---- interpreter frames ----
 * 3.14 keeps a frame's code, function and slots as _PyStackRef: the
 * object's address with tag bits in the low two (a deferred reference),
 * or, with both set, a tagged int that is no object. */
static uint64_t walk_stackref(const struct walker *w, uint64_t bits)
{
	if (w->py_minor < 14)
		return bits;
	if ((bits & 3) == 3)
		return 0;
	return bits & ~UINT64_C(3);
}

static uint64_t walk_iframe_code(struct walker *w, uint64_t frame)
{
	return walk_stackref(w, rd_ptr(w, frame, RL_IFRAME_CODE));
}

/* How many of the frame's slots hold values: stacktop (3.11 to 3.13),
 * or where stackpointer points (3.14); -1 if unreadable. */
static int64_t walk_iframe_top(struct walker *w, uint64_t frame)
{
	bool ok = true;
	if (lv(w, RL_IFRAME_STACKTOP) >= 0) {
		int32_t top = rd_i32(w, frame, RL_IFRAME_STACKTOP, &ok);
		return ok ? top : -1;
	}
	if (lv(w, RL_IFRAME_STACKPOINTER) < 0)
		return -1;
	uint64_t sp = rd_ptr(w, frame, RL_IFRAME_STACKPOINTER);
	uint64_t base = frame + (uint64_t)lv(w, RL_IFRAME_LOCALSPLUS);
	if (!sp || sp < base || ((sp - base) & 7))
		return -1;
	return (int64_t)((sp - base) / 8);
}

/* Frames that hold only their code and previous: 3.12 and 3.13's owned
 * by the C stack (3), 3.14's owned by the interpreter or the C stack
 * (3, 4). */
static bool walk_iframe_is_shim(struct walker *w, uint64_t frame)
{
	bool ok = true;
	uint8_t owner = rd_u8(w, frame, RL_IFRAME_OWNER, &ok);
	if (!ok || w->py_minor < 12)
		return false;
	return w->py_minor >= 14 ? owner >= 3 : owner == 3;
}

/* Edges to n pointers stored contiguously at addr, labelled by kind with
 * the index as argument (starting at first_index). */
static void walk_array(struct walker *w, uint64_t addr, uint64_t n,
		       enum remora_via_kind kind)
{
	uint64_t buf[256];
	bool lazy = n > LAZY_MIN;
	for (uint64_t i = 0; i < n;) {
		uint64_t chunk = n - i < 256 ? n - i : 256;
		if (!rd(w, addr + i * 8, buf, (size_t)chunk * 8)) {
			walk_partial(w, REMORA_PARTIAL_READ);
			w->stats->read_faults++;
			n = i;
			break;
		}
		for (uint64_t j = 0; j < chunk; j++) {
			if (!lazy) {
				walk_edge(w, buf[j], remora_via(kind, i + j));
			} else if (buf[j] && !walk_segment(w, buf[j])) {
				walk_partial(w, REMORA_PARTIAL_REF);
				w->stats->read_faults++;
			} else if (buf[j]) {
				remora_writer_edge(w->out, buf[j], remora_via(kind, i + j));
			}
		}
		i += chunk;
	}
	/* the items, a chunk at a time, once the stack has run dry */
	if (lazy && n) {
		if (w->resumes_len == w->resumes_cap &&
		    !walk_grow(w, (void **)&w->resumes, &w->resumes_cap, sizeof(*w->resumes)))
			return;
		w->resumes[w->resumes_len++] = (struct walk_resume){ .addr = addr, .n = n };
	}
}

/* Pushes the next chunk of the last lazy array's items (their edges and
 * damage were recorded when it was walked). */
static void walk_resume_chunk(struct walker *w)
{
	struct walk_resume *r = &w->resumes[w->resumes_len - 1];
	uint64_t end = r->n - r->next > LAZY_CHUNK ? r->next + LAZY_CHUNK : r->n;
	uint64_t buf[256];
	while (r->next < end) {
		uint64_t chunk = end - r->next < 256 ? end - r->next : 256;
		if (!rd(w, r->addr + r->next * 8, buf, (size_t)chunk * 8)) {
			r->next = r->n;
			break;
		}
		for (uint64_t j = 0; j < chunk; j++) {
			const struct remora_segment *s = buf[j] ? walk_segment(w, buf[j]) : NULL;
			if (s)
				walk_push(w, s, buf[j]);
		}
		r->next += chunk;
	}
	if (r->next >= r->n)
		w->resumes_len--;
}

/* A struct's fixed part, read once; fields are picked by layout offset
 * (bounds-checked against what was read). */
struct walk_block {
	uint8_t b[128];
	size_t len;
};

static bool walk_block_read(struct walker *w, uint64_t addr, size_t len,
			    struct walk_block *blk)
{
	blk->len = len < sizeof(blk->b) ? len : sizeof(blk->b);
	return rd(w, addr, blk->b, blk->len);
}

static bool blk_get(const struct walker *w, const struct walk_block *blk,
		    enum remora_layout_field f, void *out, size_t n)
{
	int64_t off = lv(w, f);
	if (off < 0 || (uint64_t)off > blk->len || blk->len - (size_t)off < n)
		return false;
	memcpy(out, blk->b + off, n);
	return true;
}

/* ---- str helpers ---- */

struct walk_str {
	uint64_t length;   /* code points */
	uint64_t data;     /* address of the characters */
	unsigned int kind; /* 1, 2 or 4 bytes per code point */
	bool ascii;
	bool compact;
	uint64_t utf8;     /* cached UTF-8 (non-ASCII compact), or 0 */
	int64_t utf8_length;
	uint64_t wstr;     /* 3.11 */
	int64_t wstr_length;
};

static bool walk_str_read(struct walker *w, uint64_t addr, struct walk_str *s)
{
	uint32_t state = 0;
	struct walk_block blk;
	memset(s, 0, sizeof(*s));
	/* the compact header, or the ASCII one if the object ends there */
	if (!walk_block_read(w, addr, (size_t)lv(w, RL_SIZEOF_COMPACT), &blk) &&
	    !walk_block_read(w, addr, (size_t)lv(w, RL_SIZEOF_ASCII), &blk))
		return false;
	if (!blk_get(w, &blk, RL_STR_LENGTH, &s->length, 8) ||
	    !blk_get(w, &blk, RL_STR_STATE, &state, 4))
		return false;
	s->kind = (state >> 2) & 7;
	s->compact = (state >> 5) & 1;
	s->ascii = (state >> 6) & 1;
	if (s->kind != 1 && s->kind != 2 && s->kind != 4)
		return false;
	bool ok = true;
	if (lv(w, RL_STR_WSTR) >= 0)
		ok = blk_get(w, &blk, RL_STR_WSTR, &s->wstr, 8);
	if (s->compact && s->ascii) {
		s->data = addr + (uint64_t)lv(w, RL_SIZEOF_ASCII);
	} else {
		ok = ok && blk_get(w, &blk, RL_STR_UTF8, &s->utf8, 8) &&
		     blk_get(w, &blk, RL_STR_UTF8_LENGTH, &s->utf8_length, 8);
		if (lv(w, RL_STR_WSTR_LENGTH) >= 0)
			ok = ok && blk_get(w, &blk, RL_STR_WSTR_LENGTH,
					   &s->wstr_length, 8);
		if (s->compact)
			s->data = addr + (uint64_t)lv(w, RL_SIZEOF_COMPACT);
		else
			s->data = rd_ptr(w, addr, RL_STR_DATA);
	}
	return ok && s->length < (UINT64_C(1) << 40);
}

/* unicode.__sizeof__ (3.11, 3.12). */
static uint64_t walk_str_size(struct walker *w, const struct walk_str *s)
{
	uint64_t size;
	if (s->compact && s->ascii)
		size = (uint64_t)lv(w, RL_SIZEOF_ASCII) + s->length + 1;
	else if (s->compact)
		size = (uint64_t)lv(w, RL_SIZEOF_COMPACT) + (s->length + 1) * s->kind;
	else
		size = (uint64_t)lv(w, RL_SIZEOF_UNICODE) +
		       (s->data ? (s->length + 1) * s->kind : 0);
	/* 3.11: wchar_t copy, when it is not the data itself */
	if (s->wstr && s->wstr != s->data)
		size += ((uint64_t)s->wstr_length + 1) * 4;
	if (!s->ascii && s->utf8 && s->utf8 != s->data)
		size += (uint64_t)s->utf8_length + 1;
	return size;
}

static size_t utf8_put(char *out, size_t cap, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	if (n > cap)
		return 0;
	memcpy(out, b, n);
	return n;
}

/* Up to cap bytes of the string's UTF-8, cut at a character boundary. */
static size_t walk_str_utf8(struct walker *w, const struct walk_str *s,
			    char *out, size_t cap)
{
	uint8_t raw[REPR_MAX * 4];
	uint64_t n = s->length < REPR_MAX ? s->length : REPR_MAX;
	if (s->ascii && s->kind == 1) {
		if (n > cap)
			n = cap;
		return s->data && rd(w, s->data, out, (size_t)n) ? (size_t)n : 0;
	}
	if (!s->data || !rd(w, s->data, raw, (size_t)(n * s->kind)))
		return 0;
	size_t len = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t c;
		if (s->kind == 1) {
			c = raw[i];
		} else if (s->kind == 2) {
			uint16_t v;
			memcpy(&v, raw + 2 * i, 2);
			c = v;
		} else {
			memcpy(&c, raw + 4 * i, 4);
		}
		size_t k = utf8_put(out + len, cap - len, c);
		if (k == 0)
			break;
		len += k;
	}
	return len;
}

/* Whether the str at addr equals the ASCII text t. */
static bool walk_str_equals(struct walker *w, uint64_t addr, const char *t)
{
	struct walk_str s;
	char buf[REPR_MAX];
	size_t tl = strlen(t);
	if (!walk_str_read(w, addr, &s) || s.length != tl || tl > sizeof(buf))
		return false;
	return walk_str_utf8(w, &s, buf, sizeof(buf)) == tl &&
	       memcmp(buf, t, tl) == 0;
}

/* ---- dict helpers ---- */

struct walk_keys {
	uint64_t addr;
	int64_t refcnt;
	uint8_t log2_size;
	uint8_t log2_index_bytes;
	uint8_t kind;
	int64_t usable;
	int64_t nentries;
	uint64_t entries;     /* address of the first entry */
	uint64_t entry_size;
};

/* 3.8-3.10: the keys hold their size itself (a power of two), indices
 * of 1, 2, 4 or 8 bytes as it needs, and general entries only. */
static bool walk_keys_read_sized(struct walker *w, struct walk_block *blk,
				 struct walk_keys *k)
{
	int64_t size = 0;
	if (!blk_get(w, blk, RL_DK_REFCNT, &k->refcnt, 8) ||
	    !blk_get(w, blk, RL_DK_SIZE, &size, 8) ||
	    !blk_get(w, blk, RL_DK_USABLE, &k->usable, 8) ||
	    !blk_get(w, blk, RL_DK_NENTRIES, &k->nentries, 8) ||
	    size < 1 || size > (INT64_C(1) << 40) || (size & (size - 1)))
		return false;
	k->log2_size = 0;
	while ((INT64_C(1) << k->log2_size) < size)
		k->log2_size++;
	uint8_t log2_ix = size <= 0xff ? 0 : size <= 0xffff ? 1 :
			  size <= 0xffffffffLL ? 2 : 3;
	k->log2_index_bytes = (uint8_t)(k->log2_size + log2_ix);
	k->kind = DICT_KEYS_GENERAL;
	return true;
}

static bool walk_keys_read(struct walker *w, uint64_t keys, struct walk_keys *k)
{
	struct walk_block blk;
	bool ok = walk_block_read(w, keys, (size_t)lv(w, RL_DK_INDICES), &blk);
	k->addr = keys;
	if (lv(w, RL_DK_SIZE) >= 0)
		ok = ok && walk_keys_read_sized(w, &blk, k);
	else
		ok = ok && blk_get(w, &blk, RL_DK_REFCNT, &k->refcnt, 8) &&
		     blk_get(w, &blk, RL_DK_LOG2_SIZE, &k->log2_size, 1) &&
		     blk_get(w, &blk, RL_DK_LOG2_INDEX_BYTES, &k->log2_index_bytes, 1) &&
		     blk_get(w, &blk, RL_DK_KIND, &k->kind, 1) &&
		     blk_get(w, &blk, RL_DK_USABLE, &k->usable, 8) &&
		     blk_get(w, &blk, RL_DK_NENTRIES, &k->nentries, 8);
	if (!ok || k->log2_size > 40 || k->log2_index_bytes > 43)
		return false;
	k->entries = keys + (uint64_t)lv(w, RL_DK_INDICES) +
		     (UINT64_C(1) << k->log2_index_bytes);
	k->entry_size = k->kind == DICT_KEYS_GENERAL ?
		(uint64_t)lv(w, RL_SIZEOF_DICTKEYENTRY) :
		(uint64_t)lv(w, RL_SIZEOF_DICTUNICODEENTRY);
	uint64_t usable_max = ((UINT64_C(1) << k->log2_size) << 1) / 3;
	if (k->nentries < 0 || (uint64_t)k->nentries > usable_max)
		return false;
	return true;
}

/* _PyDict_KeysSize */
static uint64_t walk_keys_size(struct walker *w, const struct walk_keys *k)
{
	uint64_t usable = ((UINT64_C(1) << k->log2_size) << 1) / 3;
	return (uint64_t)lv(w, RL_SIZEOF_DICTKEYS) +
	       (UINT64_C(1) << k->log2_index_bytes) + usable * k->entry_size;
}

/* Reads entry i: its key and value (value 0 for split keys). */
static bool walk_keys_entry(struct walker *w, const struct walk_keys *k,
			    uint64_t i, uint64_t *key, uint64_t *value)
{
	uint64_t e[3];
	if (!rd(w, k->entries + i * k->entry_size, e, (size_t)k->entry_size))
		return false;
	if (k->kind == DICT_KEYS_GENERAL) {
		*key = e[1];
		*value = e[2];
	} else {
		*key = e[0];
		*value = e[1];
	}
	return true;
}

/* Where a split dict's value pointers start (its PyDictValues' values:
 * 3.13 puts a header first), or 0 for a combined dict. */
static uint64_t walk_dict_values(struct walker *w, uint64_t dict)
{
	uint64_t values = rd_ptr(w, dict, RL_DICT_VALUES);
	int64_t off = lv(w, RL_DICTVALUES_VALUES);   /* 3.8-3.10: none */
	return values ? values + (uint64_t)(off > 0 ? off : 0) : 0;
}

/* The value stored under the ASCII key t in the dict at dict, or 0. */
static uint64_t walk_dict_lookup(struct walker *w, uint64_t dict, const char *t)
{
	uint64_t keys = rd_ptr(w, dict, RL_DICT_KEYS);
	uint64_t values = walk_dict_values(w, dict);
	struct walk_keys k;
	if (!keys || !walk_keys_read(w, keys, &k))
		return 0;
	for (int64_t i = 0; i < k.nentries; i++) {
		uint64_t key, value;
		if (!walk_keys_entry(w, &k, (uint64_t)i, &key, &value))
			return 0;
		if (!key || !walk_str_equals(w, key, t))
			continue;
		if (values) {
			bool ok = true;
			value = rd_u64(w, values + (uint64_t)i * 8, &ok);
			if (!ok)
				return 0;
		}
		return value;
	}
	return 0;
}

/* ---- heapy's NyHeapDef ---- */

static bool walk_type_is_static(struct walker *w, uint64_t t,
				enum remora_layout_field f);

/* The type's tp_name into buf (NUL-ended, cut to n - 1 bytes). */
static void walk_type_name(struct walker *w, uint64_t t, char *buf, size_t n)
{
	uint64_t p = rd_ptr(w, t, RL_TP_NAME);
	memset(buf, 0, n);
	/* byte by byte, up to its NUL: a short name may end its mapping */
	for (size_t i = 0; p && i < n - 1; i++) {
		if (!rd(w, p + i, &buf[i], 1) || !buf[i])
			break;
	}
}

/* The entries of the NyHeapDef array in the capsule at cap, kept. */
static void walk_heapdef_capsule(struct walker *w, uint64_t cap)
{
	char name[16];
	walk_type_name(w, rd_ptr(w, cap, RL_OB_TYPE), name, sizeof(name));
	if (memcmp(name, "PyCapsule", sizeof("PyCapsule")) != 0)
		return;
	bool ok = true;
	/* PyCapsule: the object header, then the pointer */
	uint64_t defs = rd_u64(w, cap + (uint64_t)lv(w, RL_OB_TYPE) + 8, &ok);
	for (uint64_t i = 0; ok && defs && w->nheapdefs < HEAPDEFS_MAX; i++) {
		uint64_t e[5];
		if (!rd(w, defs + i * HEAPDEF_ENTRY, e, sizeof(e)) || !e[1])
			return;
		struct walk_heapdef *hd = &w->heapdefs[w->nheapdefs++];
		*hd = (struct walk_heapdef){ .type = e[1], .size = e[2],
					     .traverse = e[3], .relate = e[4] };
	}
}

/* Every NyHeapDef of the modules in the interpreter's sys.modules. */
static void walk_find_heapdefs(struct walker *w, uint64_t interp)
{
	uint64_t modules = rd_ptr(w, interp, RL_INTERP_MODULES);
	uint64_t keys = modules ? rd_ptr(w, modules, RL_DICT_KEYS) : 0;
	struct walk_keys k;
	if (!keys || walk_dict_values(w, modules) || !walk_keys_read(w, keys, &k))
		return;
	for (int64_t i = 0; i < k.nentries && i < (1 << 20); i++) {
		uint64_t key, mod;
		if (!walk_keys_entry(w, &k, (uint64_t)i, &key, &mod))
			return;
		if (!key || !mod || !walk_type_is_static(w, rd_ptr(w, mod, RL_OB_TYPE),
							   RL_TYPE_MODULE))
			continue;
		uint64_t dict = rd_ptr(w, mod, RL_MODULE_DICT);
		uint64_t cap = dict ? walk_dict_lookup(w, dict, "_NyHeapDefs_") : 0;
		if (cap)
			walk_heapdef_capsule(w, cap);
	}
}

/* The NyHeapDefs of every interpreter's modules. */
static void walk_find_all_heapdefs(struct walker *w)
{
	struct walk_chain chain = { .power = 1 };
	for (uint64_t it = w->interp_head, n = 0; it && n < MAX_INTERPS; n++) {
		if (walk_chain_loops(&chain, it))
			break;
		walk_find_heapdefs(w, it);
		it = rd_ptr(w, it, RL_INTERP_NEXT);
	}
}

/* ---- types ---- */

static bool walk_type_is_static(struct walker *w, uint64_t t,
				enum remora_layout_field f)
{
	return lv(w, f) > 0 && (uint64_t)lv(w, f) == t;
}

static enum walk_kind walk_kind_of_static(struct walker *w, uint64_t t,
					  uint64_t flags)
{
	static const struct {
		enum remora_layout_field field;
		enum walk_kind kind;
	} known[] = {
		{ RL_TYPE_OBJECT, WK_OBJECT },  { RL_TYPE_DICT, WK_DICT },
		{ RL_TYPE_LIST, WK_LIST },      { RL_TYPE_TUPLE, WK_TUPLE },
		{ RL_TYPE_STR, WK_STR },        { RL_TYPE_INT, WK_INT },
		{ RL_TYPE_BOOL, WK_INT },       { RL_TYPE_FLOAT, WK_OPAQUE },
		{ RL_TYPE_SET, WK_SET },        { RL_TYPE_FROZENSET, WK_SET },
		{ RL_TYPE_BYTES, WK_OPAQUE },   { RL_TYPE_BYTEARRAY, WK_BYTEARRAY },
		{ RL_TYPE_TYPE, WK_TYPE },      { RL_TYPE_MODULE, WK_MODULE },
		{ RL_TYPE_FUNCTION, WK_FUNCTION }, { RL_TYPE_CODE, WK_CODE },
		{ RL_TYPE_CELL, WK_CELL },      { RL_TYPE_METHOD, WK_METHOD },
		{ RL_TYPE_FROZENDICT, WK_DICT },
	};
	static const struct {
		enum remora_layout_field field;
		enum walk_kind kind;
	} sized[] = {
		{ RL_TYPE_GEN, WK_GEN },     { RL_TYPE_CORO, WK_GEN },
		{ RL_TYPE_ASYNCGEN, WK_GEN }, { RL_TYPE_FRAME, WK_FRAME },
	};
	uint64_t traverse = rd_ptr(w, t, RL_TP_TRAVERSE);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (walk_type_is_static(w, t, known[i].field))
			return known[i].kind;
	}
	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		if (walk_type_is_static(w, t, sized[i].field) &&
		    (flags & RTPF_HAVE_GC))
			return sized[i].kind;
	}
	if (lv(w, RL_DEQUE_TRAVERSE) > 0 &&
	    traverse == (uint64_t)lv(w, RL_DEQUE_TRAVERSE))
		return WK_DEQUE;
	/* Static subclasses of the layout-known builtins keep their layout
	 * (their own extra references are not followed). */
	if (walk_type_is_static(w, t, RL_TYPE_ODICT) &&
	    lv(w, RL_ODICT_FIRST) >= 0 && lv(w, RL_ODICT_FAST_NODES_SIZE) >= 0 &&
	    lv(w, RL_SIZEOF_ODICTNODE) >= 0)
		return WK_ODICT;
	if (flags & RTPF_DICT_SUBCLASS)
		return WK_DICT;
	if (flags & RTPF_TYPE_SUBCLASS)
		return WK_TYPE;
	return (flags & RTPF_HAVE_GC) ? WK_TRAVERSE : WK_OPAQUE;
}

static size_t walk_type_hash(uint64_t addr, size_t cap)
{
	return (size_t)(((addr >> 3) * UINT64_C(0x9e3779b97f4a7c15)) >> 20) &
	       (cap - 1);
}

static bool walk_types_grow(struct walker *w)
{
	size_t cap = w->types_cap ? w->types_cap * 2 : TYPES_INITIAL;
	struct walk_type *t = walk_map(w, cap * sizeof(*t));
	if (!t)
		return false;
	for (size_t i = 0; i < w->types_cap; i++) {
		struct walk_type *e = &w->types[i];
		if (!e->addr)
			continue;
		size_t h = walk_type_hash(e->addr, cap);
		while (t[h].addr)
			h = (h + 1) & (cap - 1);
		t[h] = *e;
	}
	walk_unmap(w, w->types, w->types_cap * sizeof(*t));
	w->types = t;
	w->types_cap = cap;
	return true;
}

/* Whether instances of the type are laid out by a class statement
 * (slots, managed dict, __dict__ at tp_dictoffset): heap types whose
 * tp_dealloc is subtype_dealloc. */
static bool walk_type_is_class(struct walker *w, uint64_t t, uint64_t flags)
{
	if (!(flags & RTPF_HEAPTYPE))
		return false;
	return rd_ptr(w, t, RL_TP_DEALLOC) == (uint64_t)lv(w, RL_SUBTYPE_DEALLOC);
}

/* The sizer of a solid base type (its C tp_name, "module.name", and its
 * basic size as the struct has it since 3.8: array's PyObject_VAR_HEAD
 * and 5 words, BytesIO's PyObject_HEAD and 6, Struct's PyObject_HEAD and
 * 5, 6 from 3.15 (init_called), the fields read in the same place). */
static uint8_t walk_sizer_of(struct walker *w, uint64_t t, int64_t basicsize)
{
	static const struct {
		const char *name;
		enum remora_layout_field head;  /* end of the header: its size */
		int64_t words, words_max;
		enum walk_sizer sizer;
		unsigned int from_minor, to_minor;  /* 0: unbounded */
	} known[] = {
		{ "array.array", RL_OB_SIZE, 5, 5, SIZER_ARRAY, 0, 0 },
		{ "_io.BytesIO", RL_OB_TYPE, 6, 6, SIZER_BYTESIO, 0, 0 },
		{ "_struct.Struct", RL_OB_TYPE, 5, 6, SIZER_STRUCT, 0, 0 },
		{ "Struct", RL_OB_TYPE, 5, 5, SIZER_STRUCT, 8, 8 },   /* 3.8 names it so */
		{ "_io.BufferedReader", RL_OB_TYPE, 17, 17, SIZER_BUFFERED, 0, 0 },
		{ "_io.BufferedWriter", RL_OB_TYPE, 17, 17, SIZER_BUFFERED, 0, 0 },
		{ "_io.BufferedRandom", RL_OB_TYPE, 17, 17, SIZER_BUFFERED, 0, 0 },
		{ "xml.etree.ElementTree.Element", RL_OB_TYPE, 5, 5, SIZER_ELEMENT, 0, 0 },
		{ "decimal.Decimal", RL_OB_TYPE, 11, 11, SIZER_DECIMAL, 0, 0 },
		{ "numpy.ndarray", RL_OB_TYPE, 10, 10, SIZER_NDARRAY, 0, 0 },
		{ "StgDict", RL_OB_TYPE, 22, 22, SIZER_STGDICT, 0, 0 },
		{ "itertools.product", RL_OB_TYPE, 4, 4, SIZER_PRODUCT, 0, 0 },
		{ "itertools.combinations", RL_OB_TYPE, 5, 5, SIZER_COMBINATIONS, 0, 0 },
		{ "itertools.combinations_with_replacement", RL_OB_TYPE, 5, 5,
		  SIZER_COMBINATIONS, 0, 0 },
		{ "itertools.permutations", RL_OB_TYPE, 6, 6, SIZER_PERMUTATIONS, 0, 0 },
		{ "_pickle.Pickler", RL_OB_TYPE, 16, 17, SIZER_PICKLER, 0, 0 },
		{ "_pickle.Unpickler", RL_OB_TYPE, 31, 36, SIZER_UNPICKLER, 0, 0 },
		{ "_queue.SimpleQueue", RL_OB_TYPE, 7, 7, SIZER_SIMPLEQUEUE, 15, 15 },
		/* 3.13+ keeps a ctypes type's StgInfo in the type object */
		{ "_ctypes.PyCSimpleType", RL_OB_TYPE, 90, 200, SIZER_CTYPE, 13, 0 },
		{ "_ctypes.PyCPointerType", RL_OB_TYPE, 90, 200, SIZER_CTYPE, 13, 0 },
		{ "_ctypes.PyCFuncPtrType", RL_OB_TYPE, 90, 200, SIZER_CTYPE, 13, 0 },
		{ "_ctypes.PyCArrayType", RL_OB_TYPE, 90, 200, SIZER_CTYPE, 13, 0 },
		{ "_ctypes.PyCStructType", RL_OB_TYPE, 90, 200, SIZER_CTYPE, 13, 0 },
		{ "_ctypes.UnionType", RL_OB_TYPE, 90, 200, SIZER_CTYPE, 13, 0 },
		{ "_ctypes.CType_Type", RL_OB_TYPE, 90, 200, SIZER_CTYPE, 13, 0 },
		/* st_node, st_type, st_flags */
		{ "parser.st", RL_OB_TYPE, 3, 3, SIZER_PARSER_ST, 8, 9 },
	};
	char name[48];
	walk_type_name(w, t, name, sizeof(name));
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t n = strlen(known[i].name) + 1;
		if ((known[i].from_minor && w->py_minor < known[i].from_minor) ||
		    (known[i].to_minor && w->py_minor > known[i].to_minor))
			continue;
		int64_t fields = basicsize - (lv(w, known[i].head) + 8);
		if (lv(w, known[i].head) >= 0 && memcmp(name, known[i].name, n) == 0 &&
		    fields >= 8 * known[i].words && fields <= 8 * known[i].words_max &&
		    fields % 8 == 0)
			return (uint8_t)known[i].sizer;
	}
	unsigned int scalar = numpy_scalar_size(name);
	return scalar ? (uint8_t)(SIZER_SCALAR + scalar) : SIZER_NONE;
}

/* Fills e from the type object at addr; e->valid says if it is a type. */
static void walk_type_load(struct walker *w, uint64_t addr, struct walk_type *e)
{
	bool ok = true;
	uint64_t meta = rd_ptr(w, addr, RL_OB_TYPE);
	uint64_t meta_flags = meta ? rd_ptr(w, meta, RL_TP_FLAGS) : 0;
	e->flags = rd_ptr(w, addr, RL_TP_FLAGS);
	e->basicsize = rd_i64(w, addr, RL_TP_BASICSIZE, &ok);
	e->itemsize = rd_i64(w, addr, RL_TP_ITEMSIZE, &ok);
	e->dictoffset = rd_i64(w, addr, RL_TP_DICTOFFSET, &ok);
	if (!ok || !(meta_flags & RTPF_TYPE_SUBCLASS) ||
	    !(e->flags & RTPF_READY) || e->basicsize < 16 ||
	    e->basicsize > (1 << 24) || e->itemsize < 0 ||
	    e->itemsize > (1 << 16))
		return;
	/* The solid base: the first type up the tp_base chain that is not
	 * a class made by a class statement (a static type, or a heap type
	 * an extension made with its own tp_traverse). */
	e->is_class = walk_type_is_class(w, addr, e->flags);
	uint64_t base = addr;
	uint64_t base_flags = e->flags;
	for (int depth = 0; walk_type_is_class(w, base, base_flags); depth++) {
		base = rd_ptr(w, base, RL_TP_BASE);
		if (!base || depth > 1000)
			return;
		base_flags = rd_ptr(w, base, RL_TP_FLAGS);
	}
	e->kind = (uint8_t)walk_kind_of_static(w, base, base_flags);
	if ((e->kind == WK_OPAQUE || e->kind == WK_TRAVERSE) && !w->heapdefs_read &&
	    !w->plain_sizes) {
		w->heapdefs_read = true;
		walk_find_all_heapdefs(w);
	}
	/* a NyHeapDef of the type, else of its solid base */
	for (unsigned int i = 0; i < w->nheapdefs && !e->heapdef; i++) {
		if (w->heapdefs[i].type == addr)
			e->heapdef = (uint8_t)(i + 1);
	}
	for (unsigned int i = 0; i < w->nheapdefs && !e->heapdef; i++) {
		if (w->heapdefs[i].type == base)
			e->heapdef = (uint8_t)(i + 1);
	}
	/* its traverse, where it has one, gives the referents */
	if (e->heapdef && w->heapdefs[e->heapdef - 1].traverse &&
	    (e->kind == WK_OPAQUE || e->kind == WK_TRAVERSE))
		e->kind = WK_TRAVERSE;
	if (e->kind == WK_TRAVERSE || e->kind == WK_OPAQUE || e->kind == WK_DICT ||
	    e->kind == WK_TYPE) {
		e->sizer_basicsize = rd_i64(w, base, RL_TP_BASICSIZE, &ok);
		e->sizer = w->plain_sizes ? SIZER_NONE : walk_sizer_of(w, base, e->sizer_basicsize);
	}
	e->base = base;
	e->traverse = rd_ptr(w, base, RL_TP_TRAVERSE);
	e->base_dictoffset = rd_i64(w, base, RL_TP_DICTOFFSET, &ok);
	uint64_t pre_flags = RTPF_MANAGED_DICT;
	if (w->py_minor >= 12)
		pre_flags |= RTPF_MANAGED_WEAKREF;
	/* a free-threaded build's GC objects have no PyGC_Head */
	e->presize = (uint32_t)(((e->flags & RTPF_HAVE_GC) && !walk_ft(w) ?
				 (uint64_t)lv(w, RL_SIZEOF_GC_HEAD) : 0) +
				((e->flags & pre_flags) ? 16 : 0));
	e->valid = ok;
}

static struct walk_type *walk_type_get(struct walker *w, uint64_t addr)
{
	if (!addr || (addr & 7))
		return NULL;
	if (w->types_len * 2 >= w->types_cap && !walk_types_grow(w))
		return NULL;
	size_t h = walk_type_hash(addr, w->types_cap);
	while (w->types[h].addr && w->types[h].addr != addr)
		h = (h + 1) & (w->types_cap - 1);
	struct walk_type *e = &w->types[h];
	if (!e->addr) {
		e->addr = addr;
		w->types_len++;
		walk_type_load(w, addr, e);
	}
	return e;
}

/* Writes the TYPE record: __name__ and __module__ as heapy names them. */
static void walk_type_emit(struct walker *w, struct walk_type *t)
{
	char name[256], module[256];
	size_t name_len = 0, module_len = 0;
	if (t->flags & RTPF_HEAPTYPE) {
		struct walk_str s;
		uint64_t n = rd_ptr(w, t->addr, RL_HT_NAME);
		if (n && walk_str_read(w, n, &s))
			name_len = walk_str_utf8(w, &s, name, sizeof(name));
		uint64_t dict = rd_ptr(w, t->addr, RL_TP_DICT);
		uint64_t m = dict ? walk_dict_lookup(w, dict, "__module__") : 0;
		if (m && walk_str_read(w, m, &s))
			module_len = walk_str_utf8(w, &s, module, sizeof(module));
	} else {
		char raw[256];
		uint64_t p = rd_ptr(w, t->addr, RL_TP_NAME);
		size_t len = 0;
		while (p && len < sizeof(raw) && rd(w, p + len, &raw[len], 1) &&
		       raw[len])
			len++;
		size_t dot = len;
		for (size_t i = 0; i < len; i++)
			if (raw[i] == '.')
				dot = i;
		if (dot < len) {
			memcpy(module, raw, dot);
			module_len = dot;
			memcpy(name, raw + dot + 1, len - dot - 1);
			name_len = len - dot - 1;
		} else {
			memcpy(name, raw, len);
			name_len = len;
			memcpy(module, "builtins", 8);
			module_len = 8;
		}
	}
	/* the shape: tp_basicsize, and whether the objects keep a variable
	 * part inside (items, or str's characters) */
	uint32_t shape = (uint32_t)(t->basicsize > REMORA_SHAPE_BASICSIZE ?
				    REMORA_SHAPE_BASICSIZE : t->basicsize);
	if (t->itemsize || t->kind == WK_STR)
		shape |= REMORA_SHAPE_INLINE;
	remora_writer_type(w->out, t->addr, t->flags, shape, name, name_len, module,
			   module_len);
	t->emitted = 1;
	w->stats->types++;
}

/* ---- sizes ---- */

static uint64_t walk_default_size(struct walker *w, uint64_t obj,
				  const struct walk_type *t)
{
	int64_t size = t->basicsize;
	if (t->itemsize > 0) {
		bool ok = true;
		int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
		/* itemsize <= 2^16 (walk_type_load), so a count within
		 * +-2^40 cannot overflow; a larger one is a damaged object */
		if (ok && n >= -ITEMS_MAX && n <= ITEMS_MAX)
			size += n * t->itemsize;
	}
	return size < 0 ? 0 : (uint64_t)size;
}

/* dict.__sizeof__ (_PyDict_SizeOf) without the pre-header. */
static uint64_t walk_dict_size(struct walker *w, uint64_t obj,
			       const struct walk_type *t)
{
	uint64_t size = (uint64_t)t->basicsize;
	uint64_t keys = rd_ptr(w, obj, RL_DICT_KEYS);
	struct walk_keys k;
	if (!keys || !walk_keys_read(w, keys, &k))
		return size;
	/* a split dict's values: 3.8-3.10 as many as the keys can hold */
	if (rd_ptr(w, obj, RL_DICT_VALUES))
		size += lv(w, RL_DK_SIZE) >= 0 ?
			(((UINT64_C(1) << k.log2_size) << 1) / 3) * 8 :
			(uint64_t)(k.nentries + k.usable) * 8;
	if (k.refcnt == 1)
		size += walk_keys_size(w, &k);
	return size;
}

static uint64_t walk_int_size(struct walker *w, uint64_t obj)
{
	bool ok = true;
	uint64_t ndigits;
	if (lv(w, RL_LONG_TAG) >= 0) {
		ndigits = (uint64_t)rd_i64(w, obj, RL_LONG_TAG, &ok) >> 3;
	} else {
		int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
		ndigits = (uint64_t)(n < 0 ? -n : n);
	}
	/* 3.11+ count a digit for zero too; 3.8-3.10 do not */
	if (ndigits == 0 && w->py_minor >= 11)
		ndigits = 1;
	return (uint64_t)lv(w, RL_LONG_DIGITS) + ndigits * 4;
}

/* value's decimal digits (minus first if negative) at out, which has
 * room for 21 characters; returns their count.  The agent has no printf. */
static size_t walk_decimal(uint64_t value, bool negative, char *out)
{
	char digits[24];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	size_t len = 0;
	if (negative)
		out[len++] = '-';
	while (n)
		out[len++] = digits[--n];
	return len;
}

/* The decimal text of an int that fits in 60 bits (two 30-bit digits),
 * "True"/"False" for a bool; 0 (no repr) for a longer int.  Hand-made:
 * the agent has no printf. */
static size_t walk_int_repr(struct walker *w, uint64_t obj, bool is_bool,
			    char *out, size_t cap)
{
	bool ok = true;
	uint64_t ndigits;
	bool negative;
	if (lv(w, RL_LONG_TAG) >= 0) {
		uint64_t tag = (uint64_t)rd_i64(w, obj, RL_LONG_TAG, &ok);
		ndigits = tag >> 3;
		negative = (tag & 3) == 2;
	} else {
		int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
		ndigits = (uint64_t)(n < 0 ? -n : n);
		negative = n < 0;
	}
	if (!ok || ndigits > 2 || cap < 24)
		return 0;
	uint64_t value = 0;
	for (uint64_t i = ndigits; i-- > 0;) {
		uint32_t digit = 0;
		if (!remora_reader_read(w->r, obj + (uint64_t)lv(w, RL_LONG_DIGITS) + 4 * i,
					&digit, sizeof(digit)))
			ok = false;
		value = value << 30 | (digit & 0x3fffffff);
	}
	if (!ok)
		return 0;
	if (is_bool) {
		const char *text = value ? "True" : "False";
		size_t len = 0;
		while (text[len]) {
			out[len] = text[len];
			len++;
		}
		return len;
	}
	return walk_decimal(value, negative, out);
}

/* ---- the line a frame is at (PyFrame_GetLineNumber, read) ---- */

/* Reads a bytes object's contents a buffer at a time (the agent has no
 * allocator; line tables are short, read once per frame object). */
struct walk_cursor {
	struct walker *w;
	uint64_t at, end;        /* target addresses: next byte, limit */
	uint8_t buf[256];
	uint64_t buf_at;         /* target address of buf[0] */
	size_t buf_len;
	bool bad;                /* a read failed */
};

static bool walk_cursor_open(struct walk_cursor *c, struct walker *w, uint64_t bytes)
{
	bool ok = true;
	int64_t n = rd_i64(w, bytes, RL_OB_SIZE, &ok);
	c->w = w;
	c->at = c->buf_at = bytes + (uint64_t)lv(w, RL_BYTES_SVAL);
	c->end = c->at + (uint64_t)(n > 0 ? n : 0);
	c->buf_len = 0;
	c->bad = false;
	return ok && bytes && n >= 0 && n <= ITEMS_MAX && lv(w, RL_BYTES_SVAL) > 0;
}

static bool walk_cursor_done(const struct walk_cursor *c)
{
	return c->bad || c->at >= c->end;
}

/* The next byte (0 past the end or on a failed read: c->bad says). */
static uint8_t walk_cursor_peek(struct walk_cursor *c)
{
	if (c->at >= c->end) {
		c->bad = true;
		return 0;
	}
	if (c->at < c->buf_at || c->at >= c->buf_at + c->buf_len) {
		uint64_t left = c->end - c->at;
		c->buf_len = left < sizeof(c->buf) ? (size_t)left : sizeof(c->buf);
		c->buf_at = c->at;
		if (!rd(c->w, c->at, c->buf, c->buf_len)) {
			c->buf_len = 0;
			c->bad = true;
			return 0;
		}
	}
	return c->buf[c->at - c->buf_at];
}

static uint8_t walk_cursor_next(struct walk_cursor *c)
{
	uint8_t b = walk_cursor_peek(c);
	c->at++;
	return b;
}

/* 3.11+ location table: 6-bit groups, bit 6 says another follows. */
static int64_t walk_cursor_varint(struct walk_cursor *c)
{
	uint8_t b = walk_cursor_next(c);
	uint64_t v = b & 63;
	for (unsigned int shift = 6; (b & 64) && shift < 36 && !c->bad; shift += 6) {
		b = walk_cursor_next(c);
		v |= (uint64_t)(b & 63) << shift;
	}
	return (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
}

/* The line of byte offset addr in code's line table (PyCode_Addr2Line):
 * 3.8-3.9 co_lnotab (byte pairs: address step, signed line step),
 * 3.10 co_linetable (pairs over address ranges; line step -128: none),
 * 3.11+ the location table (an entry per range of code units: a start
 * byte with bit 7 set, a kind in bits 3..6, the length - 1 in bits
 * 0..2, then the kind's line step and columns).  -1: no line, or the
 * table could not be read. */
static int64_t walk_code_line(struct walker *w, uint64_t code, int64_t addr)
{
	bool ok = true;
	int64_t line = rd_i32(w, code, RL_CO_FIRSTLINENO, &ok);
	struct walk_cursor c;
	if (!ok || !walk_cursor_open(&c, w, rd_ptr(w, code, RL_CO_LINETABLE)))
		return -1;
	if (addr < 0)
		return line;
	if (w->py_minor <= 9) {
		int64_t at = 0;
		while (!walk_cursor_done(&c)) {
			at += walk_cursor_next(&c);
			if (at > addr)
				break;
			line += (int8_t)walk_cursor_next(&c);
		}
		return c.bad ? -1 : line;
	}
	int64_t end = 0;
	while (!walk_cursor_done(&c)) {
		int64_t start = end, range_line = -1;
		if (w->py_minor == 10) {
			end += walk_cursor_next(&c);
			int8_t step = (int8_t)walk_cursor_next(&c);
			if (step != -128) {
				line += step;
				range_line = line;
			}
		} else {
			uint8_t first = walk_cursor_next(&c);
			unsigned int kind = (first >> 3) & 15;
			end += (int64_t)((first & 7) + 1) * 2;
			if (kind == 14 || kind == 13)            /* long, no columns */
				line += walk_cursor_varint(&c);
			else if (kind == 11 || kind == 12)       /* one line, +1/+2 */
				line += kind - 10;
			if (kind != 15)                          /* 15: no location */
				range_line = line;
			while (!walk_cursor_done(&c) && !(walk_cursor_peek(&c) & 128))
				c.at++;
		}
		if (c.bad)
			return -1;
		if (start <= addr && addr < end)
			return range_line;
	}
	return -1;
}

/* PyFrame_GetLineNumber of a frame object: the line a tracer set (3.8
 * and 3.9: while f_trace is set; later: f_lineno > 0), else the line
 * of the instruction it is at: f_lasti (3.8-3.9 bytes, 3.10 code
 * units), or the interpreter frame's pointer into the code (3.11-3.12
 * the last instruction, 3.13+ the current one).  -1 if unknown.  *code
 * is the frame's code object (0 if unreadable). */
static int64_t walk_frame_line(struct walker *w, uint64_t obj, uint64_t *code)
{
	bool ok = true;
	int32_t lineno = rd_i32(w, obj, RL_FRAME_LINENO, &ok);
	if (lv(w, RL_FRAME_LASTI) >= 0) {
		int32_t lasti = rd_i32(w, obj, RL_FRAME_LASTI, &ok);
		*code = rd_ptr(w, obj, RL_FRAME_CODE);
		if (!ok || !*code)
			return -1;
		if (w->py_minor <= 9 ? rd_ptr(w, obj, RL_FRAME_TRACE) != 0 : lineno > 0)
			return lineno;
		return walk_code_line(w, *code, w->py_minor == 10 && lasti >= 0 ?
					       (int64_t)lasti * 2 : lasti);
	}
	uint64_t f = rd_ptr(w, obj, RL_FRAME_FRAME);
	*code = f ? walk_iframe_code(w, f) : 0;
	uint64_t instr = f ? rd_ptr(w, f, RL_IFRAME_INSTR) : 0;
	if (!ok || !*code)
		return -1;
	if (lineno > 0)
		return lineno;
	if (!instr || lv(w, RL_CO_CODE_ADAPTIVE) < 0)
		return -1;
	/* the offset as a signed count of bytes: before the first
	 * instruction (a frame not started, 3.11-3.12) it is -2 */
	int64_t addr = (int64_t)(instr - (*code + (uint64_t)lv(w, RL_CO_CODE_ADAPTIVE)));
	if (addr > (int64_t)1 << 40 || addr < -((int64_t)1 << 40))
		return -1;
	return walk_code_line(w, *code, (addr / 2) * 2);
}

/* A frame object's repr: "NAME in FILE:LINE" (its code's qualified
 * name (3.11+) or name, the last characters of its file name, the line
 * it is at), parts left out that cannot be read; 0 bytes if its code
 * cannot.  out has room for REPR_MAX * 4 bytes. */
static size_t walk_frame_repr(struct walker *w, uint64_t obj, char *out)
{
	uint64_t code = 0;
	int64_t line = walk_frame_line(w, obj, &code);
	struct walk_str name, file;
	size_t len = 0, cap = REPR_MAX * 4 - 1;
	if (!code)
		return 0;
	uint64_t qualname = rd_ptr(w, code, RL_CO_QUALNAME);
	if (!walk_str_read(w, qualname ? qualname : rd_ptr(w, code, RL_CO_NAME), &name))
		return 0;
	len = walk_str_utf8(w, &name, out, REPR_MAX);
	if (walk_str_read(w, rd_ptr(w, code, RL_CO_FILENAME), &file) && file.data) {
		/* its end: where the file's own name is */
		bool cut = file.length > REPR_MAX - 4;
		if (cut) {
			file.data += (file.length - (REPR_MAX - 4)) * file.kind;
			file.length = REPR_MAX - 4;
		}
		const char *in = cut ? " in ..." : " in ";
		for (size_t i = 0; in[i]; i++)
			out[len++] = in[i];
		len += walk_str_utf8(w, &file, out + len, cap - 24 - len);
	}
	if (line > 0) {
		out[len++] = ':';
		len += walk_decimal((uint64_t)line, false, out + len);
	}
	return len;
}

static uint64_t walk_set_size(struct walker *w, uint64_t obj,
			      const struct walk_type *t)
{
	bool ok = true;
	uint64_t size = (uint64_t)t->basicsize;
	uint64_t table = rd_ptr(w, obj, RL_SET_TABLE);
	int64_t mask = rd_i64(w, obj, RL_SET_MASK, &ok);
	if (ok && table != obj + (uint64_t)lv(w, RL_SET_SMALLTABLE))
		size += (uint64_t)(mask + 1) * (uint64_t)lv(w, RL_SIZEOF_SETENTRY);
	return size;
}

static uint64_t walk_type_obj_size(struct walker *w, uint64_t obj)
{
	uint64_t flags = rd_ptr(w, obj, RL_TP_FLAGS);
	if (!(flags & RTPF_HEAPTYPE))
		return (uint64_t)lv(w, RL_SIZEOF_TYPE);
	uint64_t size = (uint64_t)lv(w, RL_SIZEOF_HEAPTYPE);
	uint64_t keys = rd_ptr(w, obj, RL_HT_CACHED_KEYS);
	struct walk_keys k;
	if (keys && walk_keys_read(w, keys, &k))
		size += walk_keys_size(w, &k);
	return size;
}

/* Locals, cells and free variables of a 3.8-3.10 frame object: their
 * count and, for slot i, its name (0 when unknown). */
struct walk_names {
	uint64_t tuple[3];      /* co_varnames, co_cellvars, co_freevars */
	int64_t len[3];         /* slots of each kind (co_nlocals for the first) */
	int64_t names[3];       /* items of each tuple */
	int64_t total;
};

static void walk_names_read(struct walker *w, uint64_t code, struct walk_names *nm)
{
	static const enum remora_layout_field f[3] = {
		RL_CO_VARNAMES, RL_CO_CELLVARS, RL_CO_FREEVARS,
	};
	bool ok = true;
	int32_t nlocals = rd_i32(w, code, RL_CO_NLOCALS, &ok);
	nm->total = 0;
	for (int i = 0; i < 3; i++) {
		nm->tuple[i] = rd_ptr(w, code, f[i]);
		bool tok = true;
		nm->len[i] = nm->tuple[i] ? rd_i64(w, nm->tuple[i], RL_OB_SIZE, &tok) : 0;
		if (!tok || nm->len[i] < 0 || nm->len[i] > (1 << 20))
			nm->len[i] = 0;
		nm->names[i] = nm->len[i];
	}
	/* the locals are co_nlocals, whatever co_varnames says */
	nm->len[0] = ok && nlocals >= 0 && nlocals <= (1 << 20) ? nlocals : 0;
	nm->total = nm->len[0] + nm->len[1] + nm->len[2];
}

static uint64_t walk_names_get(struct walker *w, const struct walk_names *nm, int64_t i)
{
	for (int k = 0; k < 3; k++) {
		if (i < nm->len[k]) {
			bool ok = true;
			uint64_t name = nm->tuple[k] && i < nm->names[k] ? rd_u64(w, nm->tuple[k] +
				(uint64_t)lv(w, RL_TUPLE_ITEMS) + (uint64_t)i * 8, &ok) : 0;
			return ok ? name : 0;
		}
		i -= nm->len[k];
	}
	return 0;
}

static uint64_t walk_code_size(struct walker *w, uint64_t obj,
			       const struct walk_type *t)
{
	uint64_t size = (walk_default_size(w, obj, t) + 7) & ~UINT64_C(7);
	/* 3.8-3.10: the cell-to-argument map, a word per cell variable */
	uint64_t cells = rd_ptr(w, obj, RL_CO_CELLVARS);
	if (rd_ptr(w, obj, RL_CO_CELL2ARG) && cells) {
		bool ok = true;
		int64_t n = rd_i64(w, cells, RL_OB_SIZE, &ok);
		if (ok && n > 0 && n < (1 << 20))
			size += (uint64_t)n * 8;
	}
	/* 3.8-3.10: an opcode cache, once made, and its map (a byte per
	 * code unit of co_code) */
	if (rd_ptr(w, obj, RL_CO_OPCACHE)) {
		bool ok = true;
		uint8_t n = rd_u8(w, obj, RL_CO_OPCACHE_SIZE, &ok);
		uint64_t bytecode = rd_ptr(w, obj, RL_CO_CODE_BYTES);
		int64_t len = bytecode ? rd_i64(w, bytecode, RL_OB_SIZE, &ok) : 0;
		if (ok && len > 0)
			size += (uint64_t)len / 2 + (uint64_t)n * (uint64_t)lv(w, RL_SIZEOF_OPCACHE);
	}
	uint64_t extra = rd_ptr(w, obj, RL_CO_EXTRA);
	if (extra) {
		bool ok = true;
		int64_t n = rd_i64(w, extra, RL_CODEEXTRA_SIZE, &ok);
		if (ok && n > 0)
			size += (uint64_t)lv(w, RL_CODEEXTRA_EXTRAS) + (uint64_t)n * 8;
	}
	return size;
}

/* Slots of an interpreter frame's localsplus: nlocalsplus + stacksize,
 * the figure frame_sizeof and gen_sizeof count (3.11, 3.12). */
static uint64_t walk_frame_slots(struct walker *w, uint64_t iframe)
{
	bool ok = true;
	uint64_t code = walk_iframe_code(w, iframe);
	if (!code)
		return 0;
	int32_t n = rd_i32(w, code, RL_CO_NLOCALSPLUS, &ok);
	int32_t s = rd_i32(w, code, RL_CO_STACKSIZE, &ok);
	if (!ok || n < 0 || s < 0)
		return 0;
	return (uint64_t)n + (uint64_t)s;
}

static uint64_t walk_sized_kind(struct walker *w, uint64_t obj,
				const struct walk_type *t)
{
	uint64_t locals = (uint64_t)lv(w, RL_IFRAME_LOCALSPLUS);
	switch ((enum walk_kind)t->kind) {
	case WK_GEN:
		if (lv(w, RL_GEN_IFRAME) < 0)
			break;
		return (uint64_t)lv(w, RL_GEN_IFRAME) + locals +
		       8 * walk_frame_slots(w, obj + (uint64_t)lv(w, RL_GEN_IFRAME));
	case WK_FRAME: {
		if (lv(w, RL_SIZEOF_FRAME) >= 0) {
			/* 3.8-3.10 frame_sizeof: one slot is in the struct */
			uint64_t code = rd_ptr(w, obj, RL_FRAME_CODE);
			bool ok = true;
			struct walk_names nm;
			if (!code)
				break;
			walk_names_read(w, code, &nm);
			int32_t s = rd_i32(w, code, RL_CO_STACKSIZE, &ok);
			if (!ok || s < 0)
				break;
			return (uint64_t)lv(w, RL_SIZEOF_FRAME) +
			       ((uint64_t)nm.total + (uint64_t)s - 1) * 8;
		}
		if (lv(w, RL_FRAME_FRAME) < 0 || lv(w, RL_FRAME_DATA) < 0)
			break;
		uint64_t f = rd_ptr(w, obj, RL_FRAME_FRAME);
		return (uint64_t)lv(w, RL_FRAME_DATA) + locals +
		       8 * (f ? walk_frame_slots(w, f) : 0);
	}
	case WK_DEQUE: {
		bool ok = true;
		if (lv(w, RL_DEQUE_LEFTINDEX) < 0 || lv(w, RL_SIZEOF_DEQUE_BLOCK) < 0)
			break;
		int64_t left = rd_i64(w, obj, RL_DEQUE_LEFTINDEX, &ok);
		int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
		if (!ok || left < 0 || n < 0)
			break;
		return (uint64_t)t->basicsize +
		       (uint64_t)((left + n + 63) / 64) *
		       (uint64_t)lv(w, RL_SIZEOF_DEQUE_BLOCK);
	}
	default:
		break;
	}
	return walk_default_size(w, obj, t);
}

/* strlen(s) + 1 of the C string at addr (at most max bytes), or 0 for
 * none or one that cannot be read to its end. */
static uint64_t walk_cstr_size(struct walker *w, uint64_t addr, uint64_t max)
{
	for (uint64_t i = 0; addr && i < max; i++) {
		char c;
		if (!rd(w, addr + i, &c, 1))
			return 0;
		if (!c)
			return i + 1;
	}
	return 0;
}

/* What ctypes' layout info adds to its __sizeof__ (StgDict's before
 * 3.13, the type's StgInfo after): the format string, ndim shape words
 * and, with field types, length + 1 of them. */
static uint64_t walk_ctypes_extras(struct walker *w, uint64_t format, int32_t ndim,
				   uint64_t elements, int64_t length)
{
	uint64_t size = walk_cstr_size(w, format, 4096);
	if (ndim > 0 && ndim <= 64)
		size += (uint64_t)ndim * 8;
	if (elements && length >= 0 && length <= ITEMS_MAX)
		size += (uint64_t)(length + 1) * 8;
	return size;
}

/* 3.8-3.9's concrete syntax tree node (Include/node.h; x86-64): 48
 * bytes, its string at 8, its child count at 24, its children (an array
 * of nodes) at 32. */
enum { NODE_SIZE = 48, NODE_STR = 8, NODE_NCHILDREN = 24, NODE_CHILD = 32,
       NODE_DEPTH_MAX = 1024 };

/* Parser/node.c's XXXROUNDUP: the children a node's array holds room for. */
static uint64_t node_roundup(uint64_t n)
{
	if (n <= 1)
		return n;
	if (n <= 128)
		return (n + 3) & ~UINT64_C(3);
	uint64_t r = 256;
	while (r < n)
		r <<= 1;
	return r;
}

/* _PyNode_SizeOf(root): every node of the tree (the root, and each
 * node's child array as allocated) and each node's string with its
 * NUL, walked depth first with a stack of its own (a tree deeper than
 * NODE_DEPTH_MAX counts to that depth). */
static uint64_t walk_node_tree_size(struct walker *w, uint64_t root)
{
	struct { uint64_t array, count, next; } stack[NODE_DEPTH_MAX];
	unsigned int depth = 0;
	uint64_t size = NODE_SIZE, node = root, budget = UINT64_C(1) << 24;
	for (;;) {
		bool ok = true;
		uint64_t str = rd_u64(w, node + NODE_STR, &ok);
		uint32_t nch = 0;
		uint64_t child = rd_u64(w, node + NODE_CHILD, &ok);
		if (!ok || !rd(w, node + NODE_NCHILDREN, &nch, 4) || !--budget)
			break;
		for (uint64_t i = 0; str && i < (1 << 20); i++) {
			char c;
			if (!rd(w, str + i, &c, 1))
				break;
			size++;
			if (!c)
				break;
		}
		if (child) {
			size += node_roundup(nch) * NODE_SIZE;
			if (nch > 0 && nch <= (1 << 24) && depth < NODE_DEPTH_MAX) {
				stack[depth].array = child;
				stack[depth].count = nch;
				stack[depth].next = 0;
				depth++;
			}
		}
		/* the next node: the next child of the deepest array left */
		while (depth && stack[depth - 1].next == stack[depth - 1].count)
			depth--;
		if (!depth)
			break;
		node = stack[depth - 1].array + stack[depth - 1].next++ * NODE_SIZE;
	}
	return size;
}

/* __sizeof__ of an instance of a type with a sizer: its basic size and
 * what the C __sizeof__ adds. */
static uint64_t walk_sizer_size(struct walker *w, uint64_t obj, const struct walk_type *t)
{
	uint64_t size = (uint64_t)t->basicsize;
	bool ok = true;
	/* fields written below at their offsets after a 16-byte header sit
	 * this much further where the header is longer (free-threaded) */
	uint64_t hshift = (uint64_t)lv(w, RL_OB_TYPE) + 8 - 16;
	switch ((enum walk_sizer)t->sizer) {
	case SIZER_ARRAY: {
		/* array_array___sizeof__: allocated * ob_descr->itemsize */
		uint64_t fields = (uint64_t)lv(w, RL_OB_SIZE) + 8;
		int64_t allocated = (int64_t)rd_u64(w, obj + fields + 8, &ok);
		uint64_t descr = rd_u64(w, obj + fields + 16, &ok);
		int32_t itemsize = 0;
		if (ok && descr && !rd(w, descr + 4, &itemsize, sizeof(itemsize)))
			ok = false;
		if (ok && allocated > 0 && allocated <= ITEMS_MAX && itemsize > 0 &&
		    itemsize <= 16)
			size += (uint64_t)allocated * (uint64_t)itemsize;
		break;
	}
	case SIZER_BYTESIO: {
		/* bytesio __sizeof__: the buffer (a bytes object), whole,
		 * unless it is shared (referred to from elsewhere too) */
		uint64_t buf = rd_u64(w, obj + (uint64_t)lv(w, RL_OB_TYPE) + 8, &ok);
		int64_t refs = buf ? walk_refcnt(w, buf, &ok) : 0;
		/* 3.12+: the count is the low 32 bits (3.14 keeps flags in
		 * the high ones) */
		if (w->py_minor >= 12 && !walk_ft(w))
			refs &= INT64_C(0xFFFFFFFF);
		int64_t n = buf ? rd_i64(w, buf, RL_OB_SIZE, &ok) : 0;
		if (ok && buf && refs == 1 && n >= 0 && n <= ITEMS_MAX &&
		    lv(w, RL_BYTES_SVAL) > 0)
			size += (uint64_t)lv(w, RL_BYTES_SVAL) + 1 + (uint64_t)n;
		break;
	}
	case SIZER_STRUCT: {
		/* Struct___sizeof__: its format codes (4 words each) up to
		 * and with the one whose fmtdef is NULL */
		uint64_t codes = rd_u64(w, obj + (uint64_t)lv(w, RL_OB_TYPE) + 24, &ok);
		for (uint64_t i = 0; ok && codes && i < (1u << 20); i++) {
			uint64_t fmtdef = rd_u64(w, codes + i * 32, &ok);
			if (ok && !fmtdef) {
				size += (i + 1) * 32;
				break;
			}
		}
		break;
	}
	case SIZER_BUFFERED: {
		/* buffered___sizeof__: buffer_size bytes while it has a buffer
		 * (its struct, the same 3.8 to 3.15: buffer at 5 words past the
		 * header, buffer_size at 13) */
		uint64_t head = (uint64_t)lv(w, RL_OB_TYPE) + 8;
		uint64_t buffer = rd_u64(w, obj + head + 40, &ok);
		int64_t n = (int64_t)rd_u64(w, obj + head + 104, &ok);
		if (ok && buffer && n > 0 && n <= ITEMS_MAX)
			size += (uint64_t)n;
		break;
	}
	case SIZER_PARSER_ST: {
		/* parser_sizeof: + _PyNode_SizeOf(st_node), its first field */
		uint64_t root = rd_u64(w, obj + (uint64_t)lv(w, RL_OB_TYPE) + 8, &ok);
		if (ok && root)
			size += walk_node_tree_size(w, root);
		break;
	}
	case SIZER_ELEMENT: {
		/* element_sizeof: its extra (8 words: attrib, length,
		 * allocated, children, 4 static children) and, once the
		 * children outgrow those, allocated pointers (the same 3.8 to
		 * 3.15) */
		uint64_t extra = rd_u64(w, obj + (uint64_t)lv(w, RL_OB_TYPE) + 8 + 24, &ok);
		if (!ok || !extra)
			break;
		int64_t allocated = (int64_t)rd_u64(w, extra + 16, &ok);
		uint64_t children = rd_u64(w, extra + 24, &ok);
		if (!ok)
			break;
		size += 64;
		if (children != extra + 32 && allocated > 0 && allocated <= ITEMS_MAX)
			size += (uint64_t)allocated * 8;
		break;
	}
	case SIZER_DECIMAL: {
		/* dec_sizeof: alloc words of digits unless the data is the
		 * object's own static words, shared or constant (libmpdec's
		 * MPD_DATAFLAGS); mpd_t follows the hash: flags, exp, digits,
		 * len, alloc (the same 3.8 to 3.15) */
		uint64_t dec = obj + (uint64_t)lv(w, RL_OB_TYPE) + 8 + 8;
		uint8_t flags = 0;
		if (!rd(w, dec, &flags, 1))
			break;
		int64_t alloc = (int64_t)rd_u64(w, dec + 32, &ok);
		if (ok && !(flags & 0xE0) && alloc > 0 && alloc <= ITEMS_MAX)
			size += (uint64_t)alloc * 8;
		break;
	}
	case SIZER_NDARRAY: {
		/* array_sizeof: nd dimensions and nd strides, and, if the
		 * array owns its data (NPY_ARRAY_OWNDATA), its bytes */
		uint64_t f = obj + (uint64_t)lv(w, RL_OB_TYPE) + 8;
		uint32_t nd = (uint32_t)rd_u64(w, f + 8, &ok);
		uint64_t dims = rd_u64(w, f + 16, &ok);
		uint64_t strides = rd_u64(w, f + 24, &ok);
		uint64_t descr = rd_u64(w, f + 40, &ok);
		uint32_t flags = (uint32_t)rd_u64(w, f + 48, &ok);
		if (!ok || nd > 64)
			break;
		size += (uint64_t)nd * 16;
		if (!(flags & 0x4) || !descr)
			break;
		/* the item size: numpy 1's descriptor keeps it as an int
		 * after typeobj, kind, type, byteorder, flags and type_num;
		 * numpy 2's as a word after 64-bit flags.  The one the
		 * array's innermost stride agrees with (an owner is
		 * contiguous), else numpy 1's. */
		int32_t elsize1 = 0;
		int64_t elsize2 = 0;
		rd(w, descr + 32, &elsize1, sizeof(elsize1));
		rd(w, descr + 40, &elsize2, sizeof(elsize2));
		uint64_t n = 1;
		int64_t inner = 0;
		for (uint32_t i = 0; ok && i < nd; i++) {
			int64_t d = (int64_t)rd_u64(w, dims + i * 8, &ok);
			int64_t st = (int64_t)rd_u64(w, strides + i * 8, &ok);
			if (!ok || d < 0 || d > ITEMS_MAX || (d && n > (uint64_t)ITEMS_MAX / (uint64_t)d))
				ok = false;
			else
				n *= (uint64_t)d;
			if (ok && d > 1 && (!inner || i == nd - 1))
				inner = st < 0 ? -st : st;
		}
		int64_t elsize = elsize1;
		if (inner && inner != elsize1 && inner == elsize2)
			elsize = elsize2;
		if (ok && elsize > 0 && elsize <= (1 << 24))
			size += n * (uint64_t)elsize;
		break;
	}
	case SIZER_STGDICT: {
		/* PyCStgDict_sizeof: the dict's size, the struct's part past
		 * PyDictObject once more, its format string, ndim shape words
		 * and, with field types, length + 1 of them (the struct is the
		 * same 3.8 to 3.12; 3.13 has none) */
		uint64_t head = (uint64_t)lv(w, RL_OB_TYPE) + 8;
		int64_t length = (int64_t)rd_u64(w, obj + head + 48, &ok);
		uint64_t elements = rd_u64(w, obj + head + 72, &ok);
		uint64_t format = rd_u64(w, obj + head + 152, &ok);
		int32_t ndim = (int32_t)rd_u64(w, obj + head + 160, &ok);
		if (!ok)
			break;
		size = (uint64_t)t->basicsize - (head + 32) +   /* PyDictObject: 4 words */
		       walk_ctypes_extras(w, format, ndim, elements, length);
		break;
	}
	case SIZER_PRODUCT:
	case SIZER_COMBINATIONS:
	case SIZER_PERMUTATIONS: {
		/* their indices (and permutations' cycles): a word per pool
		 * of product's pools tuple, per r, per n + r of permutations'
		 * pool (the structs the same 3.8 to 3.15: the pool(s) first,
		 * r after 3 words, or 4 for permutations) */
		uint64_t head = (uint64_t)lv(w, RL_OB_TYPE) + 8;
		uint64_t pool = rd_u64(w, obj + head, &ok);
		int64_t n = pool ? rd_i64(w, pool, RL_OB_SIZE, &ok) : 0;
		int64_t r = t->sizer == SIZER_PRODUCT ? 0 :
			    (int64_t)rd_u64(w, obj + head + (t->sizer == SIZER_PERMUTATIONS ?
							       32 : 24), &ok);
		int64_t words = t->sizer == SIZER_PRODUCT ? n :
				t->sizer == SIZER_PERMUTATIONS ? n + r : r;
		if (ok && n >= 0 && n <= ITEMS_MAX && r >= 0 && r <= ITEMS_MAX)
			size += (uint64_t)words * 8;
		break;
	}
	case SIZER_PICKLER: {
		/* Pickler.__sizeof__: its memo table (mask, used,
		 * allocated, table: 4 words, and 2 per entry allocated) and
		 * its output buffer, a bytes object, whole; the buffer is a
		 * word nearer in 3.13's struct */
		uint64_t memo = rd_u64(w, obj + hshift + 16, &ok);
		uint64_t out = rd_u64(w, obj + hshift +
				      (t->sizer_basicsize - (int64_t)hshift == 144 ? 0x38 : 0x40), &ok);
		if (!ok)
			break;
		if (memo) {
			int64_t allocated = (int64_t)rd_u64(w, memo + 16, &ok);
			if (ok && allocated >= 0 && allocated <= ITEMS_MAX)
				size += 32 + (uint64_t)allocated * 16;
		}
		int64_t n = out ? rd_i64(w, out, RL_OB_SIZE, &ok) : -1;
		if (ok && n >= 0 && n <= ITEMS_MAX && lv(w, RL_BYTES_SVAL) > 0)
			size += (uint64_t)lv(w, RL_BYTES_SVAL) + 1 + (uint64_t)n;
		break;
	}
	case SIZER_UNPICKLER: {
		/* Unpickler.__sizeof__: memo_size words, marks_size words
		 * and its input line, encoding and errors strings; where
		 * they are, by the struct's size in each version */
		static const struct {
			int64_t basicsize;
			uint16_t marks, marks_size, input_line, encoding, errors;
		} forms[] = {
			{ 272, 0xf0, 0x100, 0x98, 0xe0, 0xe8 },     /* 3.8-3.12 */
			{ 264, 0xe8, 0xf8, 0x90, 0xd8, 0xe0 },      /* 3.13 */
			{ 296, 0x100, 0x110, 0x98, 0xf0, 0xf8 },    /* 3.14 */
			{ 304, 0x108, 0x118, 0xa0, 0xf8, 0x100 },   /* 3.15 */
		};
		size_t f = 0;
		while (f < sizeof(forms) / sizeof(forms[0]) &&
		       forms[f].basicsize != t->sizer_basicsize - (int64_t)hshift)
			f++;
		if (f == sizeof(forms) / sizeof(forms[0]))
			break;
		uint64_t memo = rd_u64(w, obj + hshift + 0x18, &ok);
		int64_t memo_size = (int64_t)rd_u64(w, obj + hshift + 0x20, &ok);
		uint64_t marks = rd_u64(w, obj + hshift + forms[f].marks, &ok);
		int64_t marks_size = (int64_t)rd_u64(w, obj + hshift + forms[f].marks_size, &ok);
		if (!ok)
			break;
		if (memo && memo_size >= 0 && memo_size <= ITEMS_MAX)
			size += (uint64_t)memo_size * 8;
		if (marks && marks_size >= 0 && marks_size <= ITEMS_MAX)
			size += (uint64_t)marks_size * 8;
		const uint16_t strings[] = { forms[f].input_line, forms[f].encoding,
					     forms[f].errors };
		for (size_t k = 0; k < 3; k++) {
			uint64_t str = rd_u64(w, obj + hshift + strings[k], &ok);
			if (ok)
				size += walk_cstr_size(w, str, 1u << 20);
		}
		break;
	}
	case SIZER_SIMPLEQUEUE: {
		/* 3.15 keeps the items in a ring (put, get, items, items_cap,
		 * num_items, after a flag word) whose slots __sizeof__ counts */
		int64_t cap = (int64_t)rd_u64(w, obj + (uint64_t)lv(w, RL_OB_TYPE) + 8 + 32, &ok);
		if (ok && cap > 0 && cap <= ITEMS_MAX)
			size += (uint64_t)cap * 8;
		break;
	}
	case SIZER_CTYPE: {
		/* CType_Type.__sizeof__: the basic and item size (not
		 * type's), its StgInfo's format string, ndim shape words and,
		 * with field types, length + 1 of them; the StgInfo ends the
		 * metatype's struct, its size rounded up to 16 (160 bytes in
		 * 3.13, 168 from 3.14) */
		bool v13 = w->py_minor == 13;
		uint64_t info = obj + (uint64_t)t->sizer_basicsize - (v13 ? 160 : 176);
		int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
		int64_t length = (int64_t)rd_u64(w, info + 0x18, &ok);
		uint64_t elements = rd_u64(w, info + 0x30, &ok);
		uint64_t format = rd_u64(w, info + (v13 ? 0x88 : 0x90), &ok);
		int32_t ndim = (int32_t)rd_u64(w, info + (v13 ? 0x90 : 0x98), &ok);
		if (!ok)
			break;
		if (n > 0 && n <= ITEMS_MAX && t->itemsize > 0)
			size += (uint64_t)n * (uint64_t)t->itemsize;
		size += walk_ctypes_extras(w, format, ndim, elements, length);
		break;
	}
	default:
		if (t->sizer > SIZER_SCALAR)
			size += t->sizer - SIZER_SCALAR;   /* gentype_sizeof */
		break;
	}
	return size;
}

/* sys.getsizeof(obj): __sizeof__ of the solid base's kind plus the
 * pre-header.  Modules have no __sizeof__ of their own (md_state is not
 * counted); str, int and type use fixed C sizes, not the subclass's. */
static uint64_t walk_size(struct walker *w, uint64_t obj,
			  const struct walk_type *t, const struct walk_str *str)
{
	uint64_t size;
	switch ((enum walk_kind)t->kind) {
	case WK_DICT:
		size = walk_dict_size(w, obj, t);
		if (t->sizer == SIZER_STGDICT)
			size += walk_sizer_size(w, obj, t);
		break;
	case WK_ODICT: {
		/* odict_sizeof: the dict, its fast-lookup table, its nodes */
		bool ok = true;
		int64_t fast = rd_i64(w, obj, RL_ODICT_FAST_NODES_SIZE, &ok);
		uint64_t first = rd_ptr(w, obj, RL_ODICT_FIRST);
		int64_t used = rd_i64(w, obj, RL_DICT_USED, &ok);
		size = walk_dict_size(w, obj, t);
		if (ok && fast > 0)
			size += (uint64_t)fast * 8;
		if (ok && first && used > 0)
			size += (uint64_t)used * (uint64_t)lv(w, RL_SIZEOF_ODICTNODE);
		break;
	}
	case WK_LIST: {
		bool ok = true;
		int64_t alloc = rd_i64(w, obj, RL_LIST_ALLOCATED, &ok);
		size = (uint64_t)t->basicsize + (uint64_t)(alloc > 0 ? alloc : 0) * 8;
		break;
	}
	case WK_STR:
		size = str ? walk_str_size(w, str) : walk_default_size(w, obj, t);
		break;
	case WK_INT:
		size = walk_int_size(w, obj);
		break;
	case WK_SET:
		size = walk_set_size(w, obj, t);
		break;
	case WK_BYTEARRAY: {
		bool ok = true;
		int64_t alloc = rd_i64(w, obj, RL_BYTEARRAY_ALLOC, &ok);
		size = (uint64_t)t->basicsize + (uint64_t)(alloc > 0 ? alloc : 0);
		/* 3.15 keeps the buffer in a bytes object of its own, which
		 * __sizeof__ counts whole (its header and NUL too) and nothing
		 * else refers to */
		if (alloc > 0 && lv(w, RL_BYTEARRAY_BYTES_OBJECT) >= 0 &&
		    rd_ptr(w, obj, RL_BYTEARRAY_BYTES_OBJECT))
			size += (uint64_t)lv(w, RL_BYTES_SVAL) + 1;
		break;
	}
	case WK_TYPE:
		/* 3.11/3.12 add the pre-header even for static types; 3.8-3.10
		 * and 3.13+ only for objects the collector tracks, which a
		 * static type is not (type's tp_is_gc) */
		size = t->sizer == SIZER_CTYPE ? walk_sizer_size(w, obj, t)
					       : walk_type_obj_size(w, obj);
		if ((w->py_minor >= 13 || w->py_minor <= 10) &&
		    !(rd_ptr(w, obj, RL_TP_FLAGS) & RTPF_HEAPTYPE))
			return size;
		break;
	case WK_CODE:
		size = walk_code_size(w, obj, t);
		break;
	case WK_GEN:
	case WK_FRAME:
	case WK_DEQUE:
		size = walk_sized_kind(w, obj, t);
		break;
	default:
		size = t->sizer ? walk_sizer_size(w, obj, t) : walk_default_size(w, obj, t);
		break;
	}
	return size + t->presize;
}

/* ---- referents by kind ---- */

static void walk_dict_edges(struct walker *w, uint64_t obj)
{
	uint64_t keys = rd_ptr(w, obj, RL_DICT_KEYS);
	uint64_t values = walk_dict_values(w, obj);
	struct walk_keys k;
	if (!keys)
		return;
	if (!walk_keys_read(w, keys, &k)) {
		walk_partial(w, REMORA_PARTIAL_DICT);
		return;
	}
	uint64_t live = 0;
	for (int64_t i = 0; i < k.nentries; i++) {
		uint64_t key, value;
		if (!walk_keys_entry(w, &k, (uint64_t)i, &key, &value)) {
			walk_partial(w, REMORA_PARTIAL_DICT);
			return;
		}
		if (values) {
			bool ok = true;
			value = rd_u64(w, values + (uint64_t)i * 8, &ok);
			if (!ok) {
				walk_partial(w, REMORA_PARTIAL_DICT);
				return;
			}
			/* A split dict's keys belong to the shared keys
			 * object (the type's); only values are its own. */
			walk_edge(w, value, remora_via(REMORA_VIA_DICT_VALUE, key));
			continue;
		}
		if (!key || !value)
			continue;
		walk_edge(w, key, remora_via(REMORA_VIA_DICT_KEY, live));
		walk_edge(w, value, remora_via(REMORA_VIA_DICT_VALUE, key));
		live++;
	}
}

static void walk_set_edges(struct walker *w, uint64_t obj)
{
	bool ok = true;
	uint64_t table = rd_ptr(w, obj, RL_SET_TABLE);
	int64_t mask = rd_i64(w, obj, RL_SET_MASK, &ok);
	uint64_t dummy = lv(w, RL_SET_DUMMY) > 0 ? (uint64_t)lv(w, RL_SET_DUMMY) : 0;
	uint64_t esize = (uint64_t)lv(w, RL_SIZEOF_SETENTRY);
	if (!ok || !table || mask < 0 || mask > (INT64_C(1) << 40)) {
		walk_partial(w, REMORA_PARTIAL_SET);
		return;
	}
	uint64_t live = 0;
	for (int64_t i = 0; i <= mask; i++) {
		uint64_t key;
		if (!rd(w, table + (uint64_t)i * esize, &key, 8)) {
			walk_partial(w, REMORA_PARTIAL_SET);
			return;
		}
		if (!key || key == dummy)
			continue;
		walk_edge(w, key, remora_via(REMORA_VIA_SET_ITEM, live++));
	}
}

static void walk_type_edges(struct walker *w, uint64_t obj)
{
	uint64_t flags = rd_ptr(w, obj, RL_TP_FLAGS);
	walk_field(w, obj, RL_TP_DICT, REMORA_FIELD_DICT);
	walk_field(w, obj, RL_TP_BASES, REMORA_FIELD_BASES);
	walk_field(w, obj, RL_TP_MRO, REMORA_FIELD_MRO);
	walk_field(w, obj, RL_TP_BASE, REMORA_FIELD_BASE);
	walk_field(w, obj, RL_TP_CACHE, REMORA_FIELD_CACHE);
	/* 3.12+ static builtin types keep an index, not a pointer, here */
	if ((flags & RTPF_HEAPTYPE) || w->py_minor < 12) {
		walk_field(w, obj, RL_TP_SUBCLASSES, REMORA_FIELD_SUBCLASSES);
		walk_field(w, obj, RL_TP_WEAKLIST, REMORA_FIELD_WEAKLIST);
	}
	if (!(flags & RTPF_HEAPTYPE))
		return;
	walk_field(w, obj, RL_HT_NAME, REMORA_FIELD_NAME);
	walk_field(w, obj, RL_HT_QUALNAME, REMORA_FIELD_QUALNAME);
	walk_field(w, obj, RL_HT_SLOTS, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_HT_MODULE, REMORA_FIELD_MODULE);
	/* The attribute names of instances' inline values live in the
	 * type's shared keys; they are the type's referents. */
	uint64_t keys = rd_ptr(w, obj, RL_HT_CACHED_KEYS);
	struct walk_keys k;
	if (keys && walk_keys_read(w, keys, &k)) {
		for (int64_t i = 0; i < k.nentries; i++) {
			uint64_t key, value;
			if (!walk_keys_entry(w, &k, (uint64_t)i, &key, &value))
				break;
			walk_edge(w, key, remora_via(REMORA_VIA_FIELD,
						     REMORA_FIELD_CACHE));
		}
	}
}

static void walk_function_edges(struct walker *w, uint64_t obj)
{
	walk_field(w, obj, RL_FUNC_CODE, REMORA_FIELD_CODE);
	walk_field(w, obj, RL_FUNC_GLOBALS, REMORA_FIELD_GLOBALS);
	walk_field(w, obj, RL_FUNC_BUILTINS, REMORA_FIELD_BUILTINS);
	walk_field(w, obj, RL_FUNC_NAME, REMORA_FIELD_NAME);
	walk_field(w, obj, RL_FUNC_QUALNAME, REMORA_FIELD_QUALNAME);
	walk_field(w, obj, RL_FUNC_DEFAULTS, REMORA_FIELD_DEFAULTS);
	walk_field(w, obj, RL_FUNC_KWDEFAULTS, REMORA_FIELD_KWDEFAULTS);
	walk_field(w, obj, RL_FUNC_CLOSURE, REMORA_FIELD_CLOSURE);
	walk_field(w, obj, RL_FUNC_DOC, REMORA_FIELD_DOC);
	walk_field(w, obj, RL_FUNC_DICT, REMORA_FIELD_DICT);
	walk_field(w, obj, RL_FUNC_MODULE, REMORA_FIELD_MODULE);
	walk_field(w, obj, RL_FUNC_ANNOTATIONS, REMORA_FIELD_ANNOTATIONS);
}

static void walk_code_edges(struct walker *w, uint64_t obj)
{
	walk_field(w, obj, RL_CO_CONSTS, REMORA_FIELD_CO_CONSTS);
	walk_field(w, obj, RL_CO_NAMES, REMORA_FIELD_CO_NAMES);
	walk_field(w, obj, RL_CO_EXCEPTIONTABLE, REMORA_FIELD_CO_EXCEPTIONTABLE);
	walk_field(w, obj, RL_CO_LOCALSPLUSNAMES, REMORA_FIELD_CO_LOCALSPLUSNAMES);
	walk_field(w, obj, RL_CO_LOCALSPLUSKINDS, REMORA_FIELD_CO_LOCALSPLUSKINDS);
	walk_field(w, obj, RL_CO_FILENAME, REMORA_FIELD_CO_FILENAME);
	walk_field(w, obj, RL_CO_NAME, REMORA_FIELD_CO_NAME);
	walk_field(w, obj, RL_CO_QUALNAME, REMORA_FIELD_CO_QUALNAME);
	walk_field(w, obj, RL_CO_LINETABLE, REMORA_FIELD_CO_LINETABLE);
	walk_field(w, obj, RL_CO_CODE, REMORA_FIELD_CO_CODE);
	/* 3.8-3.10: the bytecode and the name tuples are objects of their own */
	walk_field(w, obj, RL_CO_CODE_BYTES, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_CO_VARNAMES, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_CO_CELLVARS, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_CO_FREEVARS, REMORA_FIELD_OTHER);
}

/* A relate call in progress: the struct relate gets, then ours. */
struct walk_relate_call {
	struct ny_relate r;
	struct walker *w;
	unsigned int want, seen;
	uint64_t via;
};

/* The via of a relation heapy's relate reports: relator names the
 * attribute (a str) or gives the index (an int). */
static uint64_t walk_relator_via(struct walker *w, unsigned int relatype, uint64_t relator)
{
	uint64_t t = relator ? rd_ptr(w, relator, RL_OB_TYPE) : 0;
	bool is_str = t && walk_type_is_static(w, t, RL_TYPE_STR);
	int64_t n = -1;
	char digits[32];
	if (t && walk_type_is_static(w, t, RL_TYPE_INT) &&
	    walk_int_repr(w, relator, false, digits, sizeof(digits)) > 0 &&
	    digits[0] != '-') {
		n = 0;
		for (const char *c = digits; *c >= '0' && *c <= '9' && n < (INT64_C(1) << 40); c++)
			n = n * 10 + (*c - '0');
	}
	switch (relatype) {
	case NYHR_ATTRIBUTE:
	case NYHR_HASATTR:
		return is_str ? remora_via(REMORA_VIA_ATTR, relator) : remora_via(REMORA_VIA_UNKNOWN, 0);
	case NYHR_INTERATTR:
		return is_str ? remora_via(REMORA_VIA_INTERATTR, relator) :
				remora_via(REMORA_VIA_UNKNOWN, 0);
	case NYHR_INDEXVAL:
		if (n >= 0)
			return remora_via(REMORA_VIA_INDEX, (uint64_t)n);
		return relator ? remora_via(REMORA_VIA_DICT_VALUE, relator) :
				 remora_via(REMORA_VIA_UNKNOWN, 0);
	case NYHR_INDEXKEY:
		return n >= 0 ? remora_via(REMORA_VIA_DICT_KEY, (uint64_t)n) :
				remora_via(REMORA_VIA_UNKNOWN, 0);
	case NYHR_LOCAL_VAR:
		return is_str ? remora_via(REMORA_VIA_LOCAL, relator) : remora_via(REMORA_VIA_UNKNOWN, 0);
	case NYHR_STACK:
		return n >= 0 ? remora_via(REMORA_VIA_STACK, (uint64_t)n) :
				remora_via(REMORA_VIA_UNKNOWN, 0);
	case NYHR_INSET:
		return n >= 0 ? remora_via(REMORA_VIA_SET_ITEM, (uint64_t)n) :
				remora_via(REMORA_VIA_UNKNOWN, 0);
	default:
		return remora_via(REMORA_VIA_UNKNOWN, 0);
	}
}

/* The visit handed to relate: keeps the relation of the rank wanted,
 * and gives the relator's reference back (heapy's contract: relate
 * passes one it owns, a kept object's, incremented; Py_DecRef takes it
 * back, so nothing in the target changes). */
static int walk_relate_visit(unsigned int relatype, void *relator, struct ny_relate *r)
{
	struct walk_relate_call *c = (struct walk_relate_call *)r;
	uint64_t rel = (uint64_t)(uintptr_t)relator;
	if (c->seen++ == c->want)
		c->via = walk_relator_via(c->w, relatype, rel);
	int64_t decref = lv(c->w, RL_PY_DECREF);
	if (rel && decref > 0)
		((void (*)(void *))(uintptr_t)decref)(relator);
	return c->seen > c->want;
}

/* The via of the rank-th reference to target of the object traversed,
 * as its NyHeapDef's relate says; unknown where it says nothing. */
static uint64_t walk_relate(struct walker *w, uint64_t target, unsigned int rank)
{
	struct walk_relate_call c = {
		.r = { .src = (void *)(uintptr_t)w->relate_src,
		       .tgt = (void *)(uintptr_t)target, .visit = walk_relate_visit },
		.w = w,
		.want = rank,
		.via = remora_via(REMORA_VIA_UNKNOWN, 0),
	};
	if (lv(w, RL_PY_DECREF) <= 0)
		return c.via;      /* the relators could not be given back */
	((int (*)(struct ny_relate *))(uintptr_t)w->relate_fn)(&c.r);
	return c.via;
}

/* The visit function handed to tp_traverse: it only records.  What it
 * is given with a reference count of 0 is no object but a dead one a
 * type keeps on a free list of its own, which its traverse visits (3.12's
 * _asyncio: the future iterators its module state keeps): not a
 * reference, and not a fault of the snapshot. */
static int walk_traverse_visit(void *obj, void *arg)
{
	struct walker *w = arg;
	uint64_t target = (uint64_t)(uintptr_t)obj;
	bool ok = true;
	if (walk_refcnt(w, target, &ok) == 0 && ok)
		return 0;
	/* the how-manieth visit of target this is: its relate's answer
	 * of that rank names it */
	unsigned int rank = 0;
	for (unsigned int i = 0; i < w->nvisited; i++)
		rank += w->visited[i] == target;
	if (w->nvisited < sizeof(w->visited) / sizeof(w->visited[0]))
		w->visited[w->nvisited++] = target;
	else
		w->visited_overflow = true;
	/* the instance dict at tp_dictoffset: its owner's, as from outside */
	uint64_t via = target == w->traverse_dict ?
		remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT) :
		remora_via(REMORA_VIA_UNKNOWN, 0);
	if (w->relate_fn && target != w->traverse_dict)
		via = walk_relate(w, target, rank);
	walk_edge(w, target, via);
	return 0;
}

static bool walk_was_visited(const struct walker *w, uint64_t target)
{
	for (unsigned int i = 0; i < w->nvisited; i++)
		if (w->visited[i] == target)
			return true;
	return false;
}

static void walk_member_edges(struct walker *w, uint64_t obj, uint64_t type,
			      uint64_t stop, bool skip_visited);

typedef int visit_fn(void *, void *);
typedef int traverse_fn(void *, visit_fn *, void *);

static void walk_traverse_edges(struct walker *w, uint64_t obj,
				const struct walk_type *t, uint32_t *flags)
{
	const struct walk_heapdef *hd = t->heapdef ? &w->heapdefs[t->heapdef - 1] : NULL;
	if (!t->traverse && !(hd && hd->traverse))
		return;
	if (!w->self) {
		*flags |= REMORA_NODE_PARTIAL;
		walk_partial(w, REMORA_PARTIAL_TRAVERSE);
		return;
	}
	/* The fixed part must be readable before C code dereferences it. */
	if (!remora_reader_host_range(w->r, obj, (size_t)t->basicsize)) {
		*flags |= REMORA_NODE_PARTIAL;
		walk_partial(w, REMORA_PARTIAL_TRAVERSE);
		return;
	}
	traverse_fn *fn = (traverse_fn *)(uintptr_t)t->traverse;
	w->nvisited = 0;
	w->visited_overflow = false;
	bool ok = true;
	w->traverse_dict = t->base_dictoffset > 0 ?
		rd_u64(w, obj + (uint64_t)t->base_dictoffset, &ok) : 0;
	if (!ok)
		w->traverse_dict = 0;
	if (hd) {
		w->relate_src = obj;
		w->relate_fn = hd->relate;
	}
	if (hd && hd->traverse) {
		struct ny_traverse ta = { .obj = (void *)(uintptr_t)obj, .arg = w,
					  .visit = walk_traverse_visit };
		((int (*)(struct ny_traverse *))(uintptr_t)hd->traverse)(&ta);
	} else {
		fn((void *)(uintptr_t)obj, walk_traverse_visit, w);
	}
	w->relate_src = w->relate_fn = 0;
	w->traverse_dict = 0;
	*flags |= REMORA_NODE_TRAVERSED;
	w->stats->traversed++;
	/* Members tp_traverse skips (names of descriptors, say) are real
	 * references too, and what a walk from outside sees: add them. */
	if (!w->visited_overflow)
		walk_member_edges(w, obj, t->base, 0, true);
}

/* ---- referents read from outside (no tp_traverse) ----
 * What tp_traverse would visit, from layout: the builtin types whose
 * referents are not all in their member table, then, for every other
 * type, the object members of its type and bases and its dict. */

/* What _PyFrame_Traverse visits in an interpreter frame. */
static void walk_iframe_edges(struct walker *w, uint64_t f)
{
	bool ok = true;
	walk_field(w, f, RL_IFRAME_FRAME_OBJ, REMORA_FIELD_OTHER);
	walk_field(w, f, RL_IFRAME_LOCALS, REMORA_FIELD_F_LOCALS);
	walk_edge(w, walk_stackref(w, rd_ptr(w, f, RL_IFRAME_FUNC)),
		  remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_FUNC));
	walk_edge(w, walk_iframe_code(w, f), remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_CODE));
	int64_t top = walk_iframe_top(w, f);
	if (top < 0 || top > (1 << 20))
		return;
	uint64_t slots = f + (uint64_t)lv(w, RL_IFRAME_LOCALSPLUS);
	for (int64_t i = 0; i < top; i++) {
		uint64_t v = rd_u64(w, slots + (uint64_t)i * 8, &ok);
		if (!ok) {
			walk_partial(w, REMORA_PARTIAL_FRAME);
			return;
		}
		walk_edge(w, walk_stackref(w, v), remora_via(REMORA_VIA_STACK, (uint64_t)i));
	}
}

/* A 3.8-3.10 frame object: what frame_traverse visits, locals named.
 * A frame object always has its code; one without, or whose slots or
 * stack cannot be read, or whose stack is deeper than its code allows,
 * is damaged: the snapshot is partial. */
static void walk_frame_obj_edges_old(struct walker *w, uint64_t obj)
{
	walk_field(w, obj, RL_FRAME_BACK, REMORA_FIELD_F_BACK);
	walk_field(w, obj, RL_FRAME_CODE, REMORA_FIELD_F_CODE);
	walk_field(w, obj, RL_FRAME_BUILTINS, REMORA_FIELD_F_BUILTINS);
	walk_field(w, obj, RL_FRAME_GLOBALS, REMORA_FIELD_F_GLOBALS);
	walk_field(w, obj, RL_FRAME_LOCALS, REMORA_FIELD_F_LOCALS);
	walk_field(w, obj, RL_FRAME_TRACE, REMORA_FIELD_F_TRACE);
	uint64_t code = rd_ptr(w, obj, RL_FRAME_CODE);
	if (!code) {
		walk_partial(w, REMORA_PARTIAL_FRAME);
		return;
	}
	struct walk_names nm;
	walk_names_read(w, code, &nm);
	uint64_t slots = obj + (uint64_t)lv(w, RL_FRAME_LOCALSPLUS);
	bool ok = true;
	for (int64_t i = 0; i < nm.total && ok; i++) {
		uint64_t v = rd_u64(w, slots + (uint64_t)i * 8, &ok);
		uint64_t name = walk_names_get(w, &nm, i);
		if (ok && v)
			walk_edge(w, v, name ? remora_via(REMORA_VIA_LOCAL, name) :
					       remora_via(REMORA_VIA_STACK, (uint64_t)i));
	}
	if (!ok) {
		walk_partial(w, REMORA_PARTIAL_FRAME);
		return;
	}
	/* the value stack: 3.10 counts it, 3.8 and 3.9 point past its top
	 * (NULL while the frame runs: then it is not known) */
	uint64_t stack = rd_ptr(w, obj, RL_FRAME_VALUESTACK);
	int64_t depth = 0;
	if (lv(w, RL_FRAME_STACKDEPTH) >= 0) {
		depth = rd_i32(w, obj, RL_FRAME_STACKDEPTH, &ok);
	} else {
		uint64_t top = rd_ptr(w, obj, RL_FRAME_STACKTOP);
		depth = top > stack ? (int64_t)((top - stack) / 8) : 0;
	}
	int32_t stacksize = rd_i32(w, code, RL_CO_STACKSIZE, &ok);
	if (!stack || depth == -1)     /* running: 3.10 says so with depth -1 */
		return;
	if (!ok || depth < 0 || depth > stacksize) {
		walk_partial(w, REMORA_PARTIAL_FRAME);
		return;
	}
	for (int64_t i = 0; i < depth && ok; i++) {
		uint64_t v = rd_u64(w, stack + (uint64_t)i * 8, &ok);
		if (ok && v)
			walk_edge(w, v, remora_via(REMORA_VIA_STACK, (uint64_t)i));
	}
	if (!ok)
		walk_partial(w, REMORA_PARTIAL_FRAME);
}

static void walk_frame_obj_edges(struct walker *w, uint64_t obj)
{
	bool ok = true;
	if (lv(w, RL_FRAME_CODE) >= 0) {
		walk_frame_obj_edges_old(w, obj);
		return;
	}
	walk_field(w, obj, RL_FRAME_BACK, REMORA_FIELD_F_BACK);
	walk_field(w, obj, RL_FRAME_TRACE, REMORA_FIELD_F_TRACE);
	uint64_t f = rd_ptr(w, obj, RL_FRAME_FRAME);
	if (f && rd_u8(w, f, RL_IFRAME_OWNER, &ok) == FRAME_OWNED_BY_FRAME_OBJECT && ok)
		walk_iframe_edges(w, f);
}

static void walk_gen_edges(struct walker *w, uint64_t obj)
{
	bool ok = true;
	walk_field(w, obj, RL_GEN_CODE, REMORA_FIELD_CODE);
	walk_field(w, obj, RL_GEN_NAME, REMORA_FIELD_NAME);
	walk_field(w, obj, RL_GEN_QUALNAME, REMORA_FIELD_QUALNAME);
	walk_field(w, obj, RL_GEN_FRAME, REMORA_FIELD_GI_FRAME);   /* 3.8-3.10 */
	int8_t state = (int8_t)rd_u8(w, obj, RL_GEN_FRAME_STATE, &ok);
	if (ok && state < FRAME_CLEARED && lv(w, RL_GEN_IFRAME) >= 0)
		walk_iframe_edges(w, obj + (uint64_t)lv(w, RL_GEN_IFRAME));
	walk_field(w, obj, RL_GEN_EXC_VALUE, REMORA_FIELD_OTHER);
}

static void walk_deque_edges(struct walker *w, uint64_t obj)
{
	bool ok = true;
	int64_t left = rd_i64(w, obj, RL_DEQUE_LEFTINDEX, &ok);
	int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
	uint64_t block = rd_ptr(w, obj, RL_DEQUE_LEFTBLOCK);
	if (!ok || left < 0 || left >= DEQUE_BLOCKLEN || n < 0 ||
	    lv(w, RL_DEQUE_BLOCK_DATA) < 0 || lv(w, RL_DEQUE_BLOCK_RIGHTLINK) < 0) {
		walk_partial(w, REMORA_PARTIAL_DEQUE);
		return;
	}
	uint64_t index = 0;
	for (int64_t i = left; index < (uint64_t)n && block; i = 0) {
		uint64_t take = (uint64_t)(DEQUE_BLOCKLEN - i);
		if (take > (uint64_t)n - index)
			take = (uint64_t)n - index;
		uint64_t items[DEQUE_BLOCKLEN];
		if (!rd(w, block + (uint64_t)lv(w, RL_DEQUE_BLOCK_DATA) + (uint64_t)i * 8,
			items, (size_t)take * 8)) {
			walk_partial(w, REMORA_PARTIAL_DEQUE);
			return;
		}
		for (uint64_t j = 0; j < take; j++)
			walk_edge(w, items[j], remora_via(REMORA_VIA_INDEX, index + j));
		index += take;
		block = rd_ptr(w, block, RL_DEQUE_BLOCK_RIGHTLINK);
	}
}

static void walk_exception_edges(struct walker *w, uint64_t obj)
{
	walk_field(w, obj, RL_EXC_DICT, REMORA_FIELD_DICT);
	walk_field(w, obj, RL_EXC_ARGS, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_EXC_NOTES, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_EXC_TRACEBACK, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_EXC_CONTEXT, REMORA_FIELD_OTHER);
	walk_field(w, obj, RL_EXC_CAUSE, REMORA_FIELD_OTHER);
}

/* Object members (T_OBJECT, T_OBJECT_EX) of the type and its bases,
 * stopping at `stop` (a base whose referents were already followed). */
static void walk_member_edges(struct walker *w, uint64_t obj, uint64_t type,
			      uint64_t stop, bool skip_visited)
{
	uint64_t msize = (uint64_t)lv(w, RL_SIZEOF_MEMBER);
	/* a member at tp_dictoffset (a "__dict__" member) is the instance
	 * dict: its owner's, as heapy says */
	bool dok = true;
	int64_t dictoff = type ? rd_i64(w, type, RL_TP_DICTOFFSET, &dok) : 0;
	if (!dok)
		dictoff = 0;
	for (int depth = 0; type && type != stop && depth < 1000; depth++) {
		uint64_t m = rd_ptr(w, type, RL_TP_MEMBERS);
		for (int i = 0; m && i < 4096; i++, m += msize) {
			bool ok = true;
			uint64_t name = rd_ptr(w, m, RL_MEMBER_NAME);
			int32_t mtype = rd_i32(w, m, RL_MEMBER_TYPE, &ok);
			int64_t off = rd_i64(w, m, RL_MEMBER_OFFSET, &ok);
			if (!ok || !name)
				break;
			if ((mtype != T_OBJECT_EX && mtype != T_OBJECT) || off <= 0)
				continue;
			uint64_t target = rd_u64(w, obj + (uint64_t)off, &ok);
			if (skip_visited && walk_was_visited(w, target))
				continue;
			/* two members naming one field (__func__ and
			 * __wrapped__) are one reference */
			if (skip_visited && w->nvisited < 64)
				w->visited[w->nvisited++] = target;
			walk_edge(w, target, remora_via(REMORA_VIA_FIELD, off == dictoff ?
							REMORA_FIELD_DICT : REMORA_FIELD_OTHER));
		}
		type = rd_ptr(w, type, RL_TP_BASE);
	}
}

static void walk_outside_edges(struct walker *w, uint64_t obj,
			       const struct walk_type *t)
{
	uint64_t type = t->addr;
	uint64_t stop = 0;
	/* an extension's heap type: its tp_traverse visits the type */
	if ((t->flags & RTPF_HEAPTYPE) && !t->is_class)
		walk_edge(w, type, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_OB_TYPE));
	switch ((enum walk_kind)t->kind) {
	case WK_FRAME:
		walk_frame_obj_edges(w, obj);
		return;
	case WK_GEN:
		walk_gen_edges(w, obj);
		return;
	case WK_DEQUE:
		walk_deque_edges(w, obj);
		return;
	default:
		break;
	}
	if (walk_type_is_static(w, type, RL_TYPE_CFUNCTION) ||
	    walk_type_is_static(w, type, RL_TYPE_CMETHOD)) {
		walk_field(w, obj, RL_CFUNC_SELF, REMORA_FIELD_SELF);
		walk_field(w, obj, RL_CFUNC_MODULE, REMORA_FIELD_MODULE);
		if (walk_type_is_static(w, type, RL_TYPE_CMETHOD))
			walk_field(w, obj, RL_CMETHOD_CLASS, REMORA_FIELD_OTHER);
		return;
	}
	if (walk_type_is_static(w, type, RL_TYPE_TRACEBACK)) {
		walk_field(w, obj, RL_TB_NEXT, REMORA_FIELD_TB_NEXT);
		walk_field(w, obj, RL_TB_FRAME, REMORA_FIELD_TB_FRAME);
		return;
	}
	if (t->flags & RTPF_BASE_EXC_SUBCLASS) {
		/* BaseException's own fields, then its subclasses' members */
		walk_exception_edges(w, obj);
		stop = (uint64_t)lv(w, RL_TYPE_BASE_EXCEPTION);
	}
	if (walk_type_is_static(w, type, RL_TYPE_METHODWRAPPER)) {
		walk_field(w, obj, RL_METHODWRAPPER_DESCR, REMORA_FIELD_OTHER);
		walk_field(w, obj, RL_METHODWRAPPER_SELF, REMORA_FIELD_SELF);
		return;
	}
	if (walk_type_is_static(w, type, RL_TYPE_PROPERTY))
		walk_field(w, obj, RL_PROPERTY_NAME, REMORA_FIELD_NAME);
	/* a class's own slots are walk_instance_edges()'s */
	w->nvisited = 0;
	walk_member_edges(w, obj, t->base, stop, true);
	if (stop == 0 && t->base_dictoffset > 0) {
		bool ok = true;
		uint64_t dict = rd_u64(w, obj + (uint64_t)t->base_dictoffset, &ok);
		if (!walk_was_visited(w, dict))
			walk_edge(w, dict, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT));
	}
}

/* A module's m_traverse and m_size: its PyModuleDef's, or (3.15+,
 * where a module need not have a def) its own copies of them.  False
 * when it has no m_traverse. */
static bool walk_module_traverse(struct walker *w, uint64_t obj, uint64_t *fn,
				 int64_t *size)
{
	bool ok = true;
	if (lv(w, RL_MODULE_STATE_TRAVERSE) >= 0) {
		*fn = rd_ptr(w, obj, RL_MODULE_STATE_TRAVERSE);
		*size = rd_i64(w, obj, RL_MODULE_STATE_SIZE, &ok);
	} else {
		uint64_t def = rd_ptr(w, obj, RL_MODULE_DEF);
		if (!def)
			return false;
		*fn = rd_ptr(w, def, RL_MODULEDEF_TRAVERSE);
		*size = rd_i64(w, def, RL_MODULEDEF_SIZE, &ok);
	}
	return *fn && ok;
}

/* Whether the module has state its m_traverse would visit. */
static bool walk_module_has_state(struct walker *w, uint64_t obj)
{
	uint64_t fn;
	int64_t size;
	return walk_module_traverse(w, obj, &fn, &size);
}

/* What an extension module's state holds (its m_traverse, called as
 * module_traverse calls it; agent only). */
static void walk_module_state(struct walker *w, uint64_t obj)
{
	uint64_t fn;
	int64_t size;
	if (!walk_module_traverse(w, obj, &fn, &size) ||
	    (size > 0 && !rd_ptr(w, obj, RL_MODULE_STATE)))
		return;
	if (!w->self)
		return; /* the node says so: REMORA_NODE_MEMBERS */
	traverse_fn *traverse = (traverse_fn *)(uintptr_t)fn;
	traverse((void *)(uintptr_t)obj, walk_traverse_visit, w);
}

/* ---- instances of classes (heap types) ---- */

/* Where an instance's attributes live when they are not in a dict object:
 * values[0 .. count) with names from the type's shared keys. */
struct walk_values {
	uint64_t values;   /* 0: none */
	uint64_t dict;     /* the materialized __dict__, 0: none */
	uint64_t keys;     /* the type's shared keys */
	uint64_t count;    /* value slots */
	uint64_t bytes;    /* bytes of the values block (prefix included) */
};

/* 3.13: the dict pointer sits where 3.12's dict-or-values word did; the
 * values live in the object itself, after tp_basicsize bytes: a
 * PyDictValues (a header with capacity and valid, then capacity
 * pointers), then the insertion order (capacity bytes, rounded up to 8).
 * While they are valid and no __dict__ was made, they are the object's
 * referents.  Once a __dict__ is made the object refers to it and the dict
 * to the values, embedded or not: 3.14's traverse, and 3.13's since
 * gh-130327 (3.13.0's traverse visited the values and not the dict, which
 * its collector could then free while the object held it; remora follows
 * the references, the same on every 3.13, since the fix was backported
 * into patch releases and distributions and a process cannot tell which
 * it runs).  Once not valid, the dict owns its own values. */
static void walk_inline_values(struct walker *w, uint64_t obj,
			       const struct walk_type *t, struct walk_values *v)
{
	bool ok = true;
	/* MANAGED_DICT_OFFSET: after the GC head, or right before the object
	 * where there is none (free-threaded builds) */
	v->dict = rd_u64(w, obj - (walk_ft(w) ? 8 : 24), &ok);
	if (!ok) {
		v->dict = 0;
		walk_partial(w, REMORA_PARTIAL_VALUES);
		return;
	}
	if (!(t->flags & RTPF_INLINE_VALUES) || v->dict)
		return;
	uint8_t capacity = 0, valid = 0;
	uint64_t at = obj + (uint64_t)t->basicsize;
	uint64_t first = (uint64_t)lv(w, RL_DICTVALUES_VALUES);
	v->keys = rd_ptr(w, t->addr, RL_HT_CACHED_KEYS);
	struct walk_keys k;
	if (lv(w, RL_DICTVALUES_CAPACITY) < 0 || lv(w, RL_DICTVALUES_VALID) < 0 ||
	    !v->keys || !walk_keys_read(w, v->keys, &k) ||
	    !rd(w, at + (uint64_t)lv(w, RL_DICTVALUES_CAPACITY), &capacity, 1) ||
	    !rd(w, at + (uint64_t)lv(w, RL_DICTVALUES_VALID), &valid, 1)) {
		walk_partial(w, REMORA_PARTIAL_VALUES);
		return;
	}
	v->bytes = first + (uint64_t)capacity * 8 + (((uint64_t)capacity + 7) & ~UINT64_C(7));
	if (!valid)             /* a materialized dict owns them */
		return;
	v->values = at + first;
	v->count = (uint64_t)k.nentries < capacity ? (uint64_t)k.nentries : capacity;
}

static void walk_managed(struct walker *w, uint64_t obj,
			 const struct walk_type *t, struct walk_values *v)
{
	bool ok = true;
	memset(v, 0, sizeof(*v));
	if (w->py_minor >= 13) {
		walk_inline_values(w, obj, t, v);
		return;
	}
	if (w->py_minor == 11) {
		v->values = rd_u64(w, obj - 32, &ok);
		v->dict = rd_u64(w, obj - 24, &ok);
	} else {
		uint64_t dorv = rd_u64(w, obj - 24, &ok);
		if (dorv & 1)
			v->values = dorv + 1;
		else
			v->dict = dorv;
	}
	if (!ok) {
		v->values = v->dict = 0;
		walk_partial(w, REMORA_PARTIAL_VALUES);
		return;
	}
	if (!v->values)
		return;
	v->keys = rd_ptr(w, t->addr, RL_HT_CACHED_KEYS);
	struct walk_keys k;
	uint8_t prefix = 0;
	if (!v->keys || !walk_keys_read(w, v->keys, &k) ||
	    !rd(w, v->values - 1, &prefix, 1)) {
		v->values = 0;
		walk_partial(w, REMORA_PARTIAL_VALUES);
		return;
	}
	/* The block holds round_up(capacity + 2, 8) prefix bytes, then
	 * capacity pointers.  The capacity is not stored: it was the shared
	 * keys' nentries + usable when the instance was made (never less
	 * than now), and the prefix size bounds it to [prefix-9, prefix-2]. */
	uint64_t now = (uint64_t)(k.nentries + k.usable);
	uint64_t cap = prefix >= 9 && now < (uint64_t)prefix - 9 ? prefix - 9u : now;
	if (prefix >= 2 && cap > (uint64_t)prefix - 2)
		cap = prefix - 2u;
	v->count = (uint64_t)k.nentries;
	v->bytes = prefix + cap * 8;
}

static void walk_instance_edges(struct walker *w, uint64_t obj,
				const struct walk_type *t,
				const struct walk_values *v)
{
	walk_edge(w, t->addr, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_OB_TYPE));
	/* __slots__: object members of every heap type up the chain. */
	uint64_t ty = t->addr;
	for (int depth = 0; ty && depth < 1000; depth++) {
		uint64_t flags = rd_ptr(w, ty, RL_TP_FLAGS);
		if (!walk_type_is_class(w, ty, flags))
			break;
		uint64_t m = rd_ptr(w, ty, RL_TP_MEMBERS);
		uint64_t msize = (uint64_t)lv(w, RL_SIZEOF_MEMBER);
		for (int i = 0; m && i < 4096; i++, m += msize) {
			uint64_t name = rd_ptr(w, m, RL_MEMBER_NAME);
			bool ok = true;
			int32_t type = rd_i32(w, m, RL_MEMBER_TYPE, &ok);
			int64_t off = rd_i64(w, m, RL_MEMBER_OFFSET, &ok);
			if (!ok || !name)
				break;
			if ((type != T_OBJECT_EX && type != T_OBJECT) || off <= 0)
				continue;
			/* A slot's C name is the UTF-8 of its (ASCII) name
			 * str, i.e. that str's data: label with the str. */
			uint64_t str = name - (uint64_t)lv(w, RL_SIZEOF_ASCII);
			uint64_t via = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_OTHER);
			if (rd_ptr(w, str, RL_OB_TYPE) == (uint64_t)lv(w, RL_TYPE_STR))
				via = remora_via(REMORA_VIA_ATTR, str);
			walk_edge(w, rd_u64(w, obj + (uint64_t)off, &ok), via);
		}
		ty = rd_ptr(w, ty, RL_TP_BASE);
	}
	/* __dict__ or inline values, unless a static base owns the dict
	 * (its tp_traverse or layout covers it). */
	if (t->flags & RTPF_MANAGED_DICT) {
		/* 3.11/3.12 have one or the other; 3.13 may have both */
		if (v->dict)
			walk_edge(w, v->dict, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT));
		if (v->values) {
			struct walk_keys k;
			if (!walk_keys_read(w, v->keys, &k))
				return;
			for (uint64_t i = 0; i < v->count; i++) {
				uint64_t key, unused, value;
				bool ok = true;
				if (!walk_keys_entry(w, &k, i, &key, &unused))
					break;
				value = rd_u64(w, v->values + i * 8, &ok);
				if (!ok)
					break;
				walk_edge(w, value, remora_via(REMORA_VIA_ATTR, key));
			}
		}
	} else if (t->dictoffset != 0 && t->base_dictoffset == 0) {
		int64_t off = t->dictoffset;
		if (off < 0) {
			bool ok = true;
			int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
			if (!ok || n < -ITEMS_MAX || n > ITEMS_MAX)
				return;
			int64_t size = t->basicsize + (n < 0 ? -n : n) * t->itemsize;
			off += (size + 7) & ~INT64_C(7);
		}
		bool ok = true;
		uint64_t dict = rd_u64(w, obj + (uint64_t)off, &ok);
		walk_edge(w, dict, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT));
	}
}

/* ---- one object ---- */

static void walk_object(struct walker *w, uint64_t obj)
{
	bool hok = true;
	int64_t refcnt = walk_refcnt(w, obj, &hok);
	uint64_t type = rd_ptr(w, obj, RL_OB_TYPE);
	if (!hok || refcnt <= 0 || !type) {
		w->stats->bad_objects++;
		walk_partial(w, REMORA_PARTIAL_NOT_OBJECT);
		return;
	}
	struct walk_type *t = walk_type_get(w, type);
	if (!t || !t->valid) {
		w->stats->bad_objects++;
		walk_partial(w, REMORA_PARTIAL_NOT_OBJECT);
		return;
	}
	if (!t->emitted)
		walk_type_emit(w, t);

	struct remora_rec_node node = {
		.address = obj,
		.type = t->addr,
	};
	char repr[REPR_MAX * 4];
	size_t repr_len = 0;
	struct walk_str str;
	bool have_str = false;
	struct walk_values values = { 0 };
	bool heap = t->is_class;

	if (t->flags & RTPF_HAVE_GC)
		node.flags |= REMORA_NODE_GC;
	if (t->kind == WK_STR && walk_str_read(w, obj, &str)) {
		have_str = true;
		repr_len = walk_str_utf8(w, &str, repr, REPR_MAX);
	}
	if (t->kind == WK_INT)
		repr_len = walk_int_repr(w, obj, walk_type_is_static(w, t->addr, RL_TYPE_BOOL),
					 repr, sizeof(repr));
	if (t->kind == WK_FRAME)
		repr_len = walk_frame_repr(w, obj, repr);
	if (t->kind == WK_TYPE)
		node.flags |= REMORA_NODE_TYPE;
	if (!w->self && (t->kind == WK_TRAVERSE || t->kind == WK_GEN ||
			 t->kind == WK_FRAME || t->kind == WK_DEQUE ||
			 (t->kind == WK_MODULE && walk_module_has_state(w, obj))))
		node.flags |= REMORA_NODE_MEMBERS;
	if (heap && (t->flags & RTPF_MANAGED_DICT)) {
		walk_managed(w, obj, t, &values);
		if (values.values) {
			node.extra = values.bytes;
			node.flags |= REMORA_NODE_INLINE_VALUES;
		}
	}
	node.size = walk_size(w, obj, t, have_str ? &str : NULL);
	/* a NyHeapDef's size function gives the size, as heapy shows it;
	 * where it cannot run, the size is a lower bound, and says so */
	if (t->heapdef && w->heapdefs[t->heapdef - 1].size) {
		if (w->self && remora_reader_host_range(w->r, obj, (size_t)t->basicsize))
			node.size = ((uint64_t (*)(void *))(uintptr_t)
				     w->heapdefs[t->heapdef - 1].size)((void *)(uintptr_t)obj);
		else
			node.flags |= REMORA_NODE_SIZE_LOWER;
		if (node.flags & REMORA_NODE_SIZE_LOWER)
			w->snap_flags |= REMORA_SNAP_SIZE_LOWER;
	}
	/* A size no memory could hold comes from a torn or damaged object
	 * (a wild ob_size, allocated, mask): keep the fixed part, say so. */
	if (node.size > w->readable_bytes) {
		node.size = (uint64_t)t->basicsize + t->presize;
		node.flags |= REMORA_NODE_PARTIAL;
		walk_partial(w, REMORA_PARTIAL_SIZE);
	}
	remora_writer_node(w->out, &node, repr, repr_len);
	if (!(++w->stats->nodes & 1023) && w->progress)
		*w->progress = w->stats->nodes;

	switch ((enum walk_kind)t->kind) {
	case WK_DICT:
	case WK_ODICT:
		walk_dict_edges(w, obj);
		break;
	case WK_LIST: {
		bool ok = true;
		int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
		int64_t alloc = rd_i64(w, obj, RL_LIST_ALLOCATED, &ok);
		uint64_t items = rd_ptr(w, obj, RL_LIST_ITEMS);
		const struct remora_segment *seg = items ? remora_reader_find(w->r, items) : NULL;
		if (!ok || n < 0 || n > alloc || n > ITEMS_MAX ||
		    (n > 0 && (!seg || (seg->end - items) / 8 < (uint64_t)n))) {
			walk_partial(w, REMORA_PARTIAL_ITEMS);
			break;
		}
		walk_array(w, items, (uint64_t)n, REMORA_VIA_INDEX);
		break;
	}
	case WK_TUPLE: {
		bool ok = true;
		int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
		/* the items are inline: they must lie in the object's mapping
		 * (a damaged count would read the neighbours' words) */
		const struct remora_segment *seg = remora_reader_find(w->r, obj);
		uint64_t items = obj + (uint64_t)lv(w, RL_TUPLE_ITEMS);
		if (!ok || n < 0 || n > ITEMS_MAX || !seg || seg->end < items ||
		    (seg->end - items) / 8 < (uint64_t)n) {
			walk_partial(w, REMORA_PARTIAL_ITEMS);
			break;
		}
		walk_array(w, obj + (uint64_t)lv(w, RL_TUPLE_ITEMS), (uint64_t)n,
			   REMORA_VIA_INDEX);
		break;
	}
	case WK_SET:
		walk_set_edges(w, obj);
		break;
	case WK_TYPE:
		walk_type_edges(w, obj);
		break;
	case WK_MODULE:
		walk_field(w, obj, RL_MODULE_DICT, REMORA_FIELD_DICT);
		walk_module_state(w, obj);
		break;
	case WK_FUNCTION:
		walk_function_edges(w, obj);
		break;
	case WK_CODE:
		walk_code_edges(w, obj);
		break;
	case WK_CELL:
		walk_field(w, obj, RL_CELL_REF, REMORA_FIELD_CELL_CONTENTS);
		break;
	case WK_METHOD:
		walk_field(w, obj, RL_METHOD_FUNC, REMORA_FIELD_FUNC);
		walk_field(w, obj, RL_METHOD_SELF, REMORA_FIELD_SELF);
		break;
	case WK_GEN:
	case WK_FRAME:
	case WK_DEQUE:
		/* 3.8-3.10 frame objects: their locals by name, as heapy says
		 * them, rather than frame_traverse's unnamed visits */
		if (!w->self || (t->kind == WK_FRAME && lv(w, RL_FRAME_CODE) >= 0)) {
			walk_outside_edges(w, obj, t);
			break;
		}
		/* fall through */
	case WK_TRAVERSE: {
		/* structseq_traverse looks up the type's dict through the
		 * current thread state (3.12), which the thread gdb calls on
		 * may not have: visit the visible items like a tuple (and
		 * the same way from outside). */
		if (lv(w, RL_STRUCTSEQ_TRAVERSE) > 0 &&
		    t->traverse == (uint64_t)lv(w, RL_STRUCTSEQ_TRAVERSE)) {
			bool ok = true;
			int64_t n = rd_i64(w, obj, RL_OB_SIZE, &ok);
			if (ok && n >= 0 && n < (1 << 16))
				walk_array(w, obj + (uint64_t)lv(w, RL_TUPLE_ITEMS),
					   (uint64_t)n, REMORA_VIA_INDEX);
			break;
		}
		if (!w->self) {
			walk_outside_edges(w, obj, t);
			/* 3.12+'s bytesio_traverse visits the buffer, which no
			 * member names: the edge traverse would give it */
			if (t->sizer == SIZER_BYTESIO && w->py_minor >= 12) {
				bool ok = true;
				uint64_t buf = rd_u64(w, obj + (uint64_t)lv(w, RL_OB_TYPE) + 8,
						      &ok);
				if (ok && buf)
					walk_edge(w, buf, remora_via(REMORA_VIA_UNKNOWN, 0));
			}
			break;
		}
		uint32_t flags = 0;
		walk_traverse_edges(w, obj, t, &flags);
		break;
	}
	default:
		break;
	}
	if (heap)
		walk_instance_edges(w, obj, t, &values);
}

/* ---- roots ---- */

static void walk_drain(struct walker *w);

static uint64_t root_via(enum remora_root_kind kind, uint64_t interp,
			 uint64_t thread)
{
	return remora_via(REMORA_VIA_ROOT,
			  (uint64_t)kind | (interp << 16) | (thread << 32));
}

static void walk_root_field(struct walker *w, uint64_t base,
			    enum remora_layout_field f, uint64_t via)
{
	if (lv(w, f) < 0)
		return;
	walk_ref(w, rd_ptr(w, base, f), via, true);
}

/* A thread's frames, innermost first: each frame's references are roots
 * whose where word names the thread and depth, with the vias the frame's
 * object would give them (snapshot_format.h, ROOTS).  A chain damaged
 * into a cycle is cut where Brent's method finds it (as in
 * walk_gc_chain), one longer than MAX_FRAMES after MAX_FRAMES frames;
 * either makes the snapshot partial. */
static void walk_frames(struct walker *w, uint64_t frame, uint64_t ii, uint64_t ti)
{
	const uint64_t code_via = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_CODE);
	/* depth counts the frames Python shows (sys._getframe()), which
	 * leave the shims out */
	int64_t depth = 0;
	struct walk_chain chain = { .power = 1 };
	for (int64_t n = 0; frame; n++) {
		if (n == MAX_FRAMES || walk_chain_loops(&chain, frame)) {
			walk_partial(w, REMORA_PARTIAL_FRAME);
			break;
		}
		bool ok = true;
		/* 3.12+ shim frames (owned by the C stack; in 3.14 also by
		 * the interpreter) hold only f_code and previous; their other
		 * fields are garbage.  Their code is a root of the thread's,
		 * not of a frame's. */
		if (walk_iframe_is_shim(w, frame)) {
			w->root_where = remora_root_where(ii, (int64_t)ti, -1);
			walk_ref(w, walk_iframe_code(w, frame),
				 root_via(REMORA_ROOT_SHIM_CODE, ii, ti), true);
			frame = rd_ptr(w, frame, RL_IFRAME_PREVIOUS);
			continue;
		}
		uint64_t code = walk_iframe_code(w, frame);
		/* every frame, shims too, has its code: one without is damage
		 * (a core that saved it as zeros), and what the frames past it
		 * held is lost */
		if (!code) {
			walk_partial(w, REMORA_PARTIAL_FRAME);
			break;
		}
		w->root_where = remora_root_where(ii, (int64_t)ti, depth++);
		walk_ref(w, code, code_via, true);
		walk_ref(w, walk_stackref(w, rd_ptr(w, frame, RL_IFRAME_FUNC)),
			 remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_FUNC), true);
		walk_root_field(w, frame, RL_IFRAME_GLOBALS,
				remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_GLOBALS));
		walk_root_field(w, frame, RL_IFRAME_BUILTINS,
				remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_BUILTINS));
		/* a module-level frame's locals are its globals: named once */
		if (rd_ptr(w, frame, RL_IFRAME_LOCALS) != rd_ptr(w, frame, RL_IFRAME_GLOBALS))
			walk_root_field(w, frame, RL_IFRAME_LOCALS,
					remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_LOCALS));
		walk_root_field(w, frame, RL_IFRAME_FRAME_OBJ,
				remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_OBJECT));
		int32_t nlocals = code ? rd_i32(w, code, RL_CO_NLOCALSPLUS, &ok) : 0;
		int32_t stacksize = code ? rd_i32(w, code, RL_CO_STACKSIZE, &ok) : 0;
		int64_t top = walk_iframe_top(w, frame);
		if (!ok || nlocals < 0 || nlocals > (1 << 20) || stacksize < 0) {
			walk_partial(w, REMORA_PARTIAL_FRAME);
			nlocals = 0;
		}
		/* An executing frame has no valid stack top: trust only its
		 * locals then. */
		if (top < nlocals || top > nlocals + stacksize)
			top = nlocals;
		uint64_t names = code ? rd_ptr(w, code, RL_CO_LOCALSPLUSNAMES) : 0;
		uint64_t slots = frame + (uint64_t)lv(w, RL_IFRAME_LOCALSPLUS);
		for (int32_t i = 0; i < top; i++) {
			uint64_t v = walk_stackref(w, rd_u64(w, slots + (uint64_t)i * 8, &ok));
			if (!ok)
				break;
			uint64_t name = 0;
			if (i < nlocals && names)
				name = rd_u64(w, names + (uint64_t)lv(w, RL_TUPLE_ITEMS) +
						     (uint64_t)i * 8, &ok);
			walk_ref(w, v, name ? remora_via(REMORA_VIA_LOCAL, name) :
					      remora_via(REMORA_VIA_STACK, (uint64_t)i),
				 true);
		}
		frame = rd_ptr(w, frame, RL_IFRAME_PREVIOUS);
	}
}

/* 3.8-3.10: a thread's frames are objects, newest first through f_back;
 * each is a root of the thread's (its contents are its edges).  One that
 * is not a frame object (where the layout knows the frame type) ends
 * the chain, damaged. */
static void walk_frame_objects(struct walker *w, uint64_t frame, uint64_t ii, uint64_t ti)
{
	struct walk_chain chain = { .power = 1 };
	for (int64_t depth = 0; frame; depth++) {
		if (depth == MAX_FRAMES || walk_chain_loops(&chain, frame) ||
		    (lv(w, RL_TYPE_FRAME) > 0 &&
		     !walk_type_is_static(w, rd_ptr(w, frame, RL_OB_TYPE), RL_TYPE_FRAME))) {
			walk_partial(w, REMORA_PARTIAL_FRAME);
			break;
		}
		w->root_where = remora_root_where(ii, (int64_t)ti, depth);
		walk_ref(w, frame, remora_via(REMORA_VIA_FIELD, REMORA_FIELD_F_OBJECT), true);
		frame = rd_ptr(w, frame, RL_FRAME_BACK);
	}
}

static void walk_thread(struct walker *w, uint64_t ts, uint64_t ii, uint64_t ti)
{
	uint64_t frame = 0;
	if (lv(w, RL_TSTATE_CURRENT_FRAME) >= 0) {
		frame = rd_ptr(w, ts, RL_TSTATE_CURRENT_FRAME);
	} else if (lv(w, RL_TSTATE_CFRAME) >= 0) {
		uint64_t cf = rd_ptr(w, ts, RL_TSTATE_CFRAME);
		frame = cf ? rd_ptr(w, cf, RL_CFRAME_CURRENT) : 0;
	}
	if (lv(w, RL_TSTATE_FRAME) >= 0)
		walk_frame_objects(w, rd_ptr(w, ts, RL_TSTATE_FRAME), ii, ti);
	else
		walk_frames(w, frame, ii, ti);
	w->root_where = remora_root_where(ii, (int64_t)ti, -1);
	bool ok = true;
	struct remora_rec_thread rec = {
		.interp = ii,
		.index = ti,
		.thread_id = lv(w, RL_TSTATE_THREAD_ID) >= 0 ?
				     (uint64_t)rd_i64(w, ts, RL_TSTATE_THREAD_ID, &ok) : 0,
		.native_id = lv(w, RL_TSTATE_NATIVE_ID) >= 0 ?
				     (uint64_t)rd_i64(w, ts, RL_TSTATE_NATIVE_ID, &ok) : 0,
	};
	remora_writer_thread(w->out, &rec);
	static const struct {
		enum remora_layout_field field;
		enum remora_root_kind kind;
	} fields[] = {
		{ RL_TSTATE_DICT, REMORA_ROOT_THREAD_DICT },
		{ RL_TSTATE_CUREXC_TYPE, REMORA_ROOT_CUREXC_TYPE },
		{ RL_TSTATE_CUREXC_VALUE, REMORA_ROOT_CUREXC_VALUE },
		{ RL_TSTATE_CUREXC_TB, REMORA_ROOT_CUREXC_TRACEBACK },
		{ RL_TSTATE_CURRENT_EXC, REMORA_ROOT_CURRENT_EXCEPTION },
		{ RL_TSTATE_CONTEXT, REMORA_ROOT_CONTEXT },
		{ RL_TSTATE_ASYNC_GEN_FIRSTITER, REMORA_ROOT_ASYNC_GEN_FIRSTITER },
		{ RL_TSTATE_ASYNC_GEN_FINALIZER, REMORA_ROOT_ASYNC_GEN_FINALIZER },
		{ RL_TSTATE_PROFILEOBJ, REMORA_ROOT_PROFILEOBJ },
		{ RL_TSTATE_TRACEOBJ, REMORA_ROOT_TRACEOBJ },
		{ RL_TSTATE_DELETE_LATER, REMORA_ROOT_DELETE_LATER },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		walk_root_field(w, ts, fields[i].field, root_via(fields[i].kind, ii, ti));
	uint64_t item = rd_ptr(w, ts, RL_TSTATE_EXC_INFO);
	struct walk_chain chain = { .power = 1 };
	for (int i = 0; item && i < MAX_FRAMES; i++) {
		if (walk_chain_loops(&chain, item)) {
			walk_partial(w, REMORA_PARTIAL_EXC);
			break;
		}
		walk_root_field(w, item, RL_EXCITEM_VALUE,
				root_via(REMORA_ROOT_EXC_VALUE, ii, ti));
		/* 3.8-3.10 keep the type and traceback beside it */
		walk_root_field(w, item, RL_EXCITEM_TYPE,
				root_via(REMORA_ROOT_EXC_VALUE, ii, ti));
		walk_root_field(w, item, RL_EXCITEM_TRACEBACK,
				root_via(REMORA_ROOT_EXC_VALUE, ii, ti));
		item = rd_ptr(w, item, RL_EXCITEM_PREVIOUS);
	}
}

/* Whether addr is marked (reached already). */
static bool walk_marked(struct walker *w, uint64_t addr)
{
	const struct remora_segment *s = remora_reader_find(w->r, addr);
	if (!s || (addr & 7))
		return false;
	uint64_t bit = s->user + (addr - s->start) / 8;
	return w->bitmap[bit >> 3] & (1u << (bit & 7));
}

/* An object still on a GC list with its reference count at zero is being
 * freed: a thread stopped inside its deallocator, before the object left
 * the list (a thread of an interpreter with a GIL of its own can be
 * stopped anywhere).  CPython makes every reference to an object go
 * before the count reaches zero, so nothing live refers to it: it is no
 * longer part of the heap, and leaving it out is exact.  A zero count
 * over a type that is no type is damage, left to walk_object. */
static bool walk_dying(struct walker *w, uint64_t obj)
{
	bool ok = true;
	if (walk_refcnt(w, obj, &ok) != 0 || !ok)
		return false;
	struct walk_type *t = walk_type_get(w, rd_ptr(w, obj, RL_OB_TYPE));
	return t && t->valid;
}

/* A thread stopped inside _PyObject_GC_TRACK (3.8-3.15 with a GIL: the
 * tail's _gc_next is set to the new object, then the object's prev, its
 * next, the head's prev) leaves a forward chain that ends at the new
 * object, whose _gc_next is still 0 (untracked), one past the tail the
 * head still names.  Every object is on the chain: the list is whole. */
static bool walk_gc_tracking(struct walker *w, uint64_t head, uint64_t before_last)
{
	bool ok = true;
	uint64_t tail = rd_u64(w, head + 8, &ok) & ~UINT64_C(3);
	return ok && tail == before_last;
}

/* Follows a GC list from head through the link at byte `link` of each
 * PyGC_Head (0: _gc_next, 8: _gc_prev; their low 2 bits are flags), making
 * every object not reached yet a root.  Returns true if the chain came
 * back to head, or stopped where a thread tracking an object cut it
 * (walk_gc_tracking).  A damaged chain ends at an unreadable or NULL link, or
 * runs into a cycle that misses head: Brent's method finds that within
 * about twice the chain's length, with no memory (invariant: the walker
 * does not allocate), and the walk stops there. */
static bool walk_gc_chain(struct walker *w, uint64_t head, uint64_t link,
			  uint64_t via)
{
	uint64_t gch = (uint64_t)lv(w, RL_SIZEOF_GC_HEAD);
	struct walk_chain chain = { .power = 1, .mark = head };
	bool ok = true;
	uint64_t before = 0, last = head;
	uint64_t g = rd_u64(w, head + link, &ok) & ~UINT64_C(3);
	while (ok && g && g != head && !walk_chain_loops(&chain, g)) {
		if (!walk_marked(w, g + gch) && !walk_dying(w, g + gch)) {
			walk_ref(w, g + gch, via, true);
			walk_drain(w);
		}
		before = last;
		last = g;
		g = rd_u64(w, g + link, &ok) & ~UINT64_C(3);
	}
	if (ok && g == head)
		return true;
	return ok && !g && link == 0 && last != head && walk_gc_tracking(w, head, before);
}

/* Every object on a GC list that the interpreter's roots did not reach
 * becomes a root of its own (heapy counts what the GC holds).  A list is
 * doubly linked and circular through its head: when the forward chain is
 * damaged, the backward one, from the tail, still reaches the objects
 * past the damage (those before it are met twice, harmlessly: they are
 * marked), and the snapshot is partial either way. */
static void walk_gc_list(struct walker *w, uint64_t head, uint64_t via)
{
	if (walk_gc_chain(w, head, 0, via))
		return;
	walk_partial(w, REMORA_PARTIAL_GC_LIST);
	walk_gc_chain(w, head, 8, via);
}

static void walk_interp(struct walker *w, uint64_t interp, uint64_t ii)
{
	w->root_where = remora_root_where(ii, -1, -1);
	walk_root_field(w, interp, RL_INTERP_MODULES, root_via(REMORA_ROOT_MODULES, ii, 0));
	walk_root_field(w, interp, RL_INTERP_SYSDICT, root_via(REMORA_ROOT_SYSDICT, ii, 0));
	walk_root_field(w, interp, RL_INTERP_BUILTINS, root_via(REMORA_ROOT_BUILTINS, ii, 0));
	walk_root_field(w, interp, RL_INTERP_IMPORTLIB, root_via(REMORA_ROOT_IMPORTLIB, ii, 0));
	walk_root_field(w, interp, RL_INTERP_DICT, root_via(REMORA_ROOT_INTERP_DICT, ii, 0));
	walk_root_field(w, interp, RL_INTERP_BUILTINS_COPY,
			root_via(REMORA_ROOT_BUILTINS_COPY, ii, 0));
	walk_root_field(w, interp, RL_INTERP_IMPORT_FUNC,
			root_via(REMORA_ROOT_IMPORT_FUNC, ii, 0));
	walk_root_field(w, interp, RL_INTERP_CODEC_SEARCH_PATH,
			root_via(REMORA_ROOT_CODEC_SEARCH_PATH, ii, 0));
	walk_root_field(w, interp, RL_INTERP_CODEC_SEARCH_CACHE,
			root_via(REMORA_ROOT_CODEC_SEARCH_CACHE, ii, 0));
	walk_root_field(w, interp, RL_INTERP_CODEC_ERROR_REGISTRY,
			root_via(REMORA_ROOT_CODEC_ERROR_REGISTRY, ii, 0));
	walk_root_field(w, interp, RL_INTERP_MODULES_BY_INDEX,
			root_via(REMORA_ROOT_MODULES_BY_INDEX, ii, 0));

	uint64_t ts = lv(w, RL_INTERP_TSTATE_HEAD) >= 0 ?
		rd_ptr(w, interp, RL_INTERP_TSTATE_HEAD) :        /* 3.8-3.10 */
		rd_ptr(w, interp, RL_INTERP_THREADS_HEAD);
	struct walk_chain chain = { .power = 1 };
	for (uint64_t ti = 0; ts && ti < MAX_THREADS; ti++) {
		/* the loader takes MAX_THREADS THREAD records in all */
		if (walk_chain_loops(&chain, ts) || w->threads == MAX_THREADS) {
			walk_partial(w, REMORA_PARTIAL_THREADS);
			break;
		}
		w->threads++;
		walk_thread(w, ts, ii, ti);
		ts = rd_ptr(w, ts, RL_TSTATE_NEXT);
	}
}

/* ---- free-threaded builds: the GC's objects in mimalloc's heaps ---- */

/* mimalloc as CPython vendors it (Objects/mimalloc, v2's segments of
 * slices): a page is the first entry of its slices in its segment's
 * header, segments are aligned to their size, and the heaps CPython gives
 * each thread are tagged by what they hold (pycore_mimalloc.h). */
enum {
	MI_SEGMENT_SIZE = 1u << 25,
	MI_SLICE_SIZE = 1u << 16,
	MI_HUGE_BLOCK_SIZE = 1u << 31,
	MI_HEAP_GC = 2,            /* GC objects */
	MI_HEAP_GC_PRE = 3,        /* GC objects after a 2-word pre-header */
	MI_PAGE_BLOCKS_MAX = 8192, /* a 64 KiB page of 8-byte blocks */
	MI_DELAYED_MAX = 1 << 20,  /* bounds a damaged delayed-free list */
	MI_PAGE_QUEUES = 75,       /* a heap's pages[]: MI_BIN_FULL + 1 (3.13, 3.14) */
	MI_MAX_ARENAS = 132,       /* mimalloc 2.5's arena table (3.14) */
	MI_ARENA_FIELDS_MAX = 1 << 16, /* bounds a damaged arena's bitmap */
	GC_BIT_TRACKED = 1,
};

/* The index in pg of the block at b; false if b is no block of pg's. */
static bool walk_mi_block(const struct walk_mi_page *pg, uint64_t b, uint64_t *i)
{
	if (b < pg->start || b >= pg->start + pg->capacity * pg->block ||
	    (b - pg->start) % pg->block)
		return false;
	*i = (b - pg->start) / pg->block;
	return true;
}

static inline bool walk_mi_is_free(const struct walk_mi_page *pg, uint64_t i)
{
	return pg->free[i >> 3] & (1u << (i & 7));
}

static inline void walk_mi_set_free(struct walk_mi_page *pg, uint64_t i)
{
	pg->free[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* Marks the blocks on a free list of the page; false if the list leaves
 * the page (damage) or loops.  A list's next pointer is its block's first
 * word (this build does not encode them). */
static bool walk_mi_free_list(struct walker *w, struct walk_mi_page *pg, uint64_t b,
			      uint64_t steps)
{
	for (; b && steps; steps--) {
		uint64_t i;
		if (!walk_mi_block(pg, b, &i) || walk_mi_is_free(pg, i))
			return false;
		walk_mi_set_free(pg, i);
		bool ok = true;
		b = rd_u64(w, b, &ok);
		if (!ok)
			return false;
	}
	return !b;
}

/* Every object the GC tracks in one page (its blocks less its free
 * lists, and less the blocks of delayed, the heap's list of blocks other
 * threads freed from its full pages) becomes a root, as CPython's own
 * gc_visit_heaps() finds them.  Objects start offset bytes into their
 * blocks. */
static void walk_mi_page(struct walker *w, uint64_t page, uint64_t offset,
			 uint64_t delayed, uint64_t via)
{
	struct walk_mi_page *pg = &w->mi_page;
	bool ok = true;
	uint32_t slices = 0, used = 0;
	uint64_t bs = 0;
	uint16_t capacity = 0;
	uint64_t seg = (page - 1) & ~(uint64_t)(MI_SEGMENT_SIZE - 1);
	uint64_t first = seg + (uint64_t)lv(w, RL_MI_SEGMENT_SLICES);
	uint64_t psz = (uint64_t)lv(w, RL_SIZEOF_MI_PAGE);
	/* 3.14's mimalloc (2.5) keeps a 16-bit count, a word-wide block
	 * size and where the blocks start; 3.13's 32-bit ones */
	bool v25 = lv(w, RL_MI_PAGE_START) >= 0;
	if (!rd(w, page + (uint64_t)lv(w, RL_MI_PAGE_SLICE_COUNT), &slices, 4) ||
	    !rd(w, page + (uint64_t)lv(w, RL_MI_PAGE_USED), &used, v25 ? 2 : 4) ||
	    !rd(w, page + (uint64_t)lv(w, RL_MI_PAGE_BLOCK_SIZE), &bs, v25 ? 8 : 4) ||
	    !rd(w, page + (uint64_t)lv(w, RL_MI_PAGE_CAPACITY), &capacity, 2) ||
	    page < first || (page - first) % psz) {
		walk_partial(w, REMORA_PARTIAL_HEAP);
		return;
	}
	if (!used)
		return;
	uint64_t area = seg + (page - first) / psz * MI_SLICE_SIZE;
	uint64_t size = (uint64_t)slices * MI_SLICE_SIZE;
	uint64_t skip;
	if (v25) {
		skip = rd_ptr(w, page, RL_MI_PAGE_START) - area;
		pg->block = bs;
	} else {
		/* _mi_segment_page_start: small blocks start a few blocks in */
		skip = bs >= 8 && bs <= 64 ? 3u * bs : bs <= 512 ? bs : 0;
		pg->block = bs < MI_HUGE_BLOCK_SIZE ? bs : size - skip;
	}
	pg->start = area + skip;
	pg->capacity = capacity;
	if (!pg->block || !capacity || capacity > MI_PAGE_BLOCKS_MAX || size <= skip ||
	    capacity * pg->block > size - skip) {
		walk_partial(w, REMORA_PARTIAL_HEAP);
		return;
	}
	memset(pg->free, 0, ((size_t)capacity + 7) / 8);
	uint64_t xfree = rd_ptr(w, page, RL_MI_PAGE_XTHREAD_FREE) & ~UINT64_C(3);
	if (!walk_mi_free_list(w, pg, rd_ptr(w, page, RL_MI_PAGE_FREE), capacity) ||
	    !walk_mi_free_list(w, pg, rd_ptr(w, page, RL_MI_PAGE_LOCAL_FREE), capacity) ||
	    !walk_mi_free_list(w, pg, xfree, capacity))
		walk_partial(w, REMORA_PARTIAL_HEAP);
	/* the delayed list runs through other pages too: only this one's */
	for (uint64_t b = delayed, n = 0; b && n < MI_DELAYED_MAX && ok; n++) {
		uint64_t i;
		if (walk_mi_block(pg, b, &i))
			walk_mi_set_free(pg, i);
		b = rd_u64(w, b, &ok);
	}
	for (uint64_t i = 0; i < pg->capacity && !w->nomem && !w->out->errnum; i++) {
		if (walk_mi_is_free(pg, i))
			continue;
		uint64_t obj = pg->start + i * pg->block + offset;
		uint8_t bits = 0;
		if (!rd(w, obj + (uint64_t)lv(w, RL_OB_GC_BITS), &bits, 1) ||
		    !(bits & GC_BIT_TRACKED))
			continue;
		if (!walk_marked(w, obj) && !walk_dying(w, obj)) {
			walk_ref(w, obj, via, true);
			walk_drain(w);
		}
	}
}

/* Every page of a thread's heap: its queues of pages by size class, up to
 * the queue of full pages. */
static void walk_mi_heap(struct walker *w, uint64_t heap, uint64_t offset, uint64_t via)
{
	bool ok = true;
	uint64_t pages = (uint64_t)lv(w, RL_MI_HEAP_PAGES);
	uint64_t qsize = (uint64_t)lv(w, RL_SIZEOF_MI_PAGE_QUEUE);
	if (!rd_u64(w, heap + (uint64_t)lv(w, RL_MI_HEAP_PAGE_COUNT), &ok) || !ok)
		return;
	uint64_t delayed = rd_ptr(w, heap, RL_MI_HEAP_DELAYED_FREE);
	for (uint64_t q = 0; q < MI_PAGE_QUEUES; q++) {
		struct walk_chain chain = { .power = 1 };
		uint64_t page = rd_u64(w, heap + pages + q * qsize, &ok);
		while (ok && page) {
			if (walk_chain_loops(&chain, page)) {
				walk_partial(w, REMORA_PARTIAL_HEAP);
				break;
			}
			walk_mi_page(w, page, offset, delayed, via);
			page = rd_ptr(w, page, RL_MI_PAGE_NEXT);
		}
	}
}

/* The GC pages of one segment whose thread exited: its slices, each
 * page's tag telling whose heap it was. */
static void walk_mi_segment(struct walker *w, uint64_t seg, uint64_t offset, uint64_t via)
{
	bool ok = true;
	uint64_t psz = (uint64_t)lv(w, RL_SIZEOF_MI_PAGE);
	int64_t tag_bit = lv(w, RL_MI_PAGE_TAG_BIT);
	uint64_t entries = rd_u64(w, seg + (uint64_t)lv(w, RL_MI_SEGMENT_SLICE_ENTRIES), &ok);
	uint64_t slice = seg + (uint64_t)lv(w, RL_MI_SEGMENT_SLICES);
	uint64_t end = slice + entries * psz;
	if (!ok || entries > MI_SEGMENT_SIZE / MI_SLICE_SIZE + 1) {
		walk_partial(w, REMORA_PARTIAL_HEAP);
		return;
	}
	bool header = true; /* the first slices hold the segment's header */
	while (slice < end) {
		uint32_t count = 0, bs = 0;
		uint8_t tag = 0;
		if (!rd(w, slice + (uint64_t)lv(w, RL_MI_PAGE_SLICE_COUNT), &count, 4) ||
		    !rd(w, slice + (uint64_t)lv(w, RL_MI_PAGE_BLOCK_SIZE), &bs, 4) ||
		    !rd(w, slice + (uint64_t)tag_bit / 8, &tag, 1) || !count) {
			walk_partial(w, REMORA_PARTIAL_HEAP);
			return;
		}
		tag = (tag >> (tag_bit % 8)) & 15;
		if (!header && bs && (tag == MI_HEAP_GC || tag == MI_HEAP_GC_PRE))
			walk_mi_page(w, slice, offset + (tag == MI_HEAP_GC_PRE ? 16 : 0), 0, via);
		header = false;
		slice += (uint64_t)count * psz;
	}
}

/* 3.13: exited threads' segments, in the interpreter's pool of abandoned
 * segments (two lists). */
static void walk_mi_pool(struct walker *w, uint64_t pool, uint64_t offset, uint64_t via)
{
	uint64_t lists[2] = {
		rd_ptr(w, pool, RL_MI_POOL_ABANDONED) & ~(uint64_t)(MI_SEGMENT_SIZE - 1),
		rd_ptr(w, pool, RL_MI_POOL_VISITED),
	};
	for (int l = 0; l < 2; l++) {
		struct walk_chain chain = { .power = 1 };
		for (uint64_t seg = lists[l]; seg; seg = rd_ptr(w, seg, RL_MI_SEGMENT_ABANDONED_NEXT)) {
			if (walk_chain_loops(&chain, seg) || (seg & (MI_SEGMENT_SIZE - 1))) {
				walk_partial(w, REMORA_PARTIAL_HEAP);
				break;
			}
			walk_mi_segment(w, seg, offset, via);
		}
	}
}

/* 3.14: exited threads' segments are the interpreter's mimalloc
 * sub-process's: those outside arenas on its list, the others flagged
 * in the abandoned bitmap of the arena they lie in (mi_abandoned_visit_
 * blocks).  The arenas are the process's, shared by every interpreter,
 * and found only by a symbol of libpython's own (mi_arenas, static):
 * without it, and with segments there, the walk says so.  subproc: the
 * interpreter's, or (where it names none: the main one, whose threads
 * use mimalloc's default) its threads'. */
static void walk_mi_subproc(struct walker *w, uint64_t subproc, uint64_t offset,
			    uint64_t via)
{
	bool ok = true;
	if (!subproc) {
		walk_partial(w, REMORA_PARTIAL_HEAP);
		return;
	}
	uint64_t count = rd_u64(w, subproc + (uint64_t)lv(w, RL_MI_SUBPROC_ABANDONED_COUNT), &ok);
	uint64_t os_count = rd_u64(w, subproc + (uint64_t)lv(w, RL_MI_SUBPROC_OS_COUNT), &ok);
	if (!ok) {
		walk_partial(w, REMORA_PARTIAL_HEAP);
		return;
	}
	struct walk_chain chain = { .power = 1 };
	uint64_t seg = rd_ptr(w, subproc, RL_MI_SUBPROC_OS_LIST);
	for (uint64_t n = 0; seg && n < os_count; n++) {
		if (walk_chain_loops(&chain, seg) || (seg & (MI_SEGMENT_SIZE - 1))) {
			walk_partial(w, REMORA_PARTIAL_HEAP);
			break;
		}
		walk_mi_segment(w, seg, offset, via);
		seg = rd_ptr(w, seg, RL_MI_SEGMENT_OS_NEXT);
	}
	if (count <= os_count)
		return;
	int64_t arenas = lv(w, RL_MI_ARENAS), arena_count = lv(w, RL_MI_ARENA_COUNT);
	if (arenas < 0 || arena_count < 0) {
		walk_partial(w, REMORA_PARTIAL_ARENAS);
		return;
	}
	uint64_t narenas = rd_u64(w, (uint64_t)arena_count, &ok);
	if (!ok || narenas > MI_MAX_ARENAS) {
		walk_partial(w, REMORA_PARTIAL_HEAP);
		return;
	}
	for (uint64_t i = 0; i < narenas; i++) {
		uint64_t arena = rd_u64(w, (uint64_t)arenas + 8 * i, &ok);
		if (!ok || !arena)
			continue;
		uint64_t start = rd_ptr(w, arena, RL_MI_ARENA_START);
		uint64_t fields = rd_u64(w, arena + (uint64_t)lv(w, RL_MI_ARENA_FIELD_COUNT), &ok);
		uint64_t bitmap = rd_ptr(w, arena, RL_MI_ARENA_ABANDONED);
		if (!ok || !bitmap || fields > MI_ARENA_FIELDS_MAX || (start & (MI_SEGMENT_SIZE - 1))) {
			walk_partial(w, REMORA_PARTIAL_HEAP);
			continue;
		}
		for (uint64_t f = 0; f < fields; f++) {
			uint64_t bits = rd_u64(w, bitmap + 8 * f, &ok);
			for (; ok && bits; bits &= bits - 1) {
				uint64_t b = f * 64 + (uint64_t)__builtin_ctzll(bits);
				seg = start + b * MI_SEGMENT_SIZE;
				if (rd_ptr(w, seg, RL_MI_SEGMENT_SUBPROC) == subproc)
					walk_mi_segment(w, seg, offset, via);
			}
		}
	}
}

/* What a free-threaded interpreter's GC holds: the tracked objects of
 * every thread's GC heaps, then of the abandoned pool. */
static void walk_interp_mi(struct walker *w, uint64_t interp, uint64_t ii)
{
	uint64_t via = root_via(REMORA_ROOT_GC, ii, 0);
	w->root_where = remora_root_where(ii, -1, -1);
	bool ok = true;
	/* the debug allocator puts two words before each object */
	uint64_t runtime = (uint64_t)lv(w, RL_RUNTIME_ADDR);
	uint64_t offset = lv(w, RL_RUNTIME_MEM_DEBUG) >= 0 &&
			  rd_i32(w, runtime, RL_RUNTIME_MEM_DEBUG, &ok) && ok ? 16 : 0;
	uint64_t hsize = (uint64_t)lv(w, RL_SIZEOF_MI_HEAP);
	uint64_t subproc = lv(w, RL_INTERP_MI_SUBPROC) >= 0 ?
			   rd_ptr(w, interp, RL_INTERP_MI_SUBPROC) : 0;
	uint64_t ts = rd_ptr(w, interp, RL_INTERP_THREADS_HEAD);
	struct walk_chain chain = { .power = 1 };
	for (uint64_t ti = 0; ts && ti < MAX_THREADS; ti++) {
		if (walk_chain_loops(&chain, ts)) {
			walk_partial(w, REMORA_PARTIAL_THREADS);
			break;
		}
		ok = true;
		if (rd_i32(w, ts, RL_TSTATE_MI_INITIALIZED, &ok) && ok) {
			uint64_t heaps = ts + (uint64_t)lv(w, RL_TSTATE_MI_HEAPS);
			if (!subproc && lv(w, RL_TSTATE_MI_SUBPROC) >= 0)
				subproc = rd_ptr(w, ts, RL_TSTATE_MI_SUBPROC);
			walk_mi_heap(w, heaps + MI_HEAP_GC * hsize, offset, via);
			walk_mi_heap(w, heaps + MI_HEAP_GC_PRE * hsize, offset + 16, via);
		}
		ts = rd_ptr(w, ts, RL_TSTATE_NEXT);
	}
	if (lv(w, RL_INTERP_MI_SUBPROC) >= 0)
		walk_mi_subproc(w, subproc, offset, via);
	else
		walk_mi_pool(w, interp + (uint64_t)lv(w, RL_INTERP_MI_POOL), offset, via);
}

static void walk_interp_gc(struct walker *w, uint64_t interp, uint64_t ii)
{
	if (walk_ft(w)) {
		walk_interp_mi(w, interp, ii);
		return;
	}
	uint64_t via = root_via(REMORA_ROOT_GC, ii, 0);
	w->root_where = remora_root_where(ii, -1, -1);
	/* An unreached object is drained before the list moves on, so that
	 * what it holds is not made a root of its own as well. */
	uint64_t gens = interp + (uint64_t)lv(w, RL_INTERP_GC_GENERATIONS);
	uint64_t stride = (uint64_t)lv(w, RL_SIZEOF_GC_GENERATION);
	uint64_t perm = interp + (uint64_t)lv(w, RL_INTERP_GC_PERMANENT);
	/* 3.8: one GC for all interpreters, in the runtime: walked with the
	 * first */
	if (lv(w, RL_RUNTIME_GC_GENERATIONS) >= 0) {
		if (ii)
			return;
		uint64_t rt = (uint64_t)lv(w, RL_RUNTIME_ADDR);
		gens = rt + (uint64_t)lv(w, RL_RUNTIME_GC_GENERATIONS);
		perm = rt + (uint64_t)lv(w, RL_RUNTIME_GC_PERMANENT);
	}
	/* generations[] runs up to the field after it; 3 in 3.11-3.12 */
	for (uint64_t g = 0; g < 3; g++)
		walk_gc_list(w, gens + g * stride, via);
	walk_gc_list(w, perm, via);
}

static void walk_drain(struct walker *w)
{
	for (;;) {
		while (w->stack_len > 0 && !w->nomem && !w->out->errnum)
			walk_object(w, w->stack[--w->stack_len]);
		if (!w->resumes_len || w->nomem || w->out->errnum)
			return;
		walk_resume_chunk(w);
	}
}

enum remora_walk_status remora_walk(struct remora_reader *reader,
				    const struct remora_layout *layout,
				    struct remora_writer *writer,
				    const struct remora_walk_options *options,
				    struct remora_walk_stats *stats)
{
	struct walker w = {
		.r = reader,
		.L = layout->v,
		.out = writer,
		.stats = stats,
		.self = options && options->self,
		.plain_sizes = options && options->plain_sizes,
		.progress = options ? options->progress : NULL,
		.py_minor = (layout->python_version >> 16) & 0xff,
	};
	enum remora_walk_status status = REMORA_WALK_OK;
	memset(stats, 0, sizeof(*stats));
	if (layout->magic != REMORA_LAYOUT_MAGIC ||
	    layout->field_count != RL_FIELD_COUNT ||
	    remora_layout_check(layout) >= 0 ||
	    (layout->python_version >> 24) != 3 || w.py_minor < 8 ||
	    w.py_minor > 15)
		return REMORA_WALK_BAD_LAYOUT;

	uint64_t runtime = (uint64_t)lv(&w, RL_RUNTIME_ADDR);
	uint64_t interp = rd_ptr(&w, runtime, RL_RUNTIME_INTERP_HEAD);
	if (!interp)
		return REMORA_WALK_NO_RUNTIME;

	if (walk_ft(&w))
		w.snap_flags |= REMORA_SNAP_FREE_THREADED;
	if (walk_bitmap_init(&w) < 0)
		goto out_nomem;
	w.stack_cap = STACK_INITIAL;
	w.stack = walk_map(&w, w.stack_cap * sizeof(uint64_t));
	w.resumes_cap = RESUMES_INITIAL;
	w.resumes = walk_map(&w, w.resumes_cap * sizeof(*w.resumes));
	if (!w.stack || !w.resumes || !walk_types_grow(&w))
		goto out_nomem;

	w.interp_head = interp;
	/* Interpreter and thread roots first, so that the first path found
	 * to an object is through them; then what only the GC lists hold. */
	uint64_t ii = 0;
	struct walk_chain chain = { .power = 1 };
	for (uint64_t it = interp; it && ii < MAX_INTERPS; ii++) {
		if (walk_chain_loops(&chain, it)) {
			walk_partial(&w, REMORA_PARTIAL_INTERPS);
			break;
		}
		walk_interp(&w, it, ii);
		walk_drain(&w);
		it = rd_ptr(&w, it, RL_INTERP_NEXT);
	}
	/* the GC lists of the interpreters met above, no more */
	uint64_t interps = ii;
	ii = 0;
	for (uint64_t it = interp; it && ii < interps; ii++) {
		walk_interp_gc(&w, it, ii);
		walk_drain(&w);
		it = rd_ptr(&w, it, RL_INTERP_NEXT);
	}
	if (w.nomem)
		goto out_nomem;
	if (writer->errnum)
		status = REMORA_WALK_WRITE;
	goto out;

out_nomem:
	status = REMORA_WALK_NOMEM;
	w.snap_flags |= REMORA_SNAP_PARTIAL;
out:
	stats->edges = writer->edges;
	stats->roots = writer->roots;
	stats->read_faults += reader->faults;
	stats->snapshot_flags = w.snap_flags;
	walk_unmap(&w, w.types, w.types_cap * sizeof(struct walk_type));
	walk_unmap(&w, w.stack, w.stack_cap * sizeof(uint64_t));
	walk_unmap(&w, w.resumes, w.resumes_cap * sizeof(*w.resumes));
	walk_unmap(&w, w.bitmap, w.bitmap_bytes);
	return status;
}
