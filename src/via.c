/* via.c — heapy's relation labels (via.h).
 *
 * heapy's spellings (guppy3's Path.py relation classes, as its byvia and
 * shortest paths print them):
 *   dict value      [repr(key)]           list/tuple item  [i]
 *   dict key        .keys()[i]            attribute/slot   .name
 *   C field         .__dict__, ->ob_type  frame local      .f_locals['x']
 *   value stack     ->f_valuestack[i]     set member       list(_)[i]
 *   no relation     .??
 * Roots are heapy's RootState members: .i0_modules, .i0_sysdict, ...,
 * .i0_t<thread_id>_<member> for a thread's, and .i0_t<thread_id>_f<n>
 * for a frame, n counted from the thread's oldest frame (0), followed by
 * the frame's own relation (.f_locals['x'], .f_globals, ...).
 * Beyond heapy: a set member's label gives its real position (heapy's
 * always says 0), and an object that only a GC list reached (held by C
 * code, or garbage) is a root of its own, .i0_gc_only.
 */
#include "via.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "snapshot.h"
#include "snapshot_format.h"

static const char *const field_labels[REMORA_FIELD_COUNT] = {
	[REMORA_FIELD_OB_TYPE] = "->ob_type",
	[REMORA_FIELD_DICT] = ".__dict__",
	[REMORA_FIELD_BASES] = ".__bases__",
	[REMORA_FIELD_MRO] = ".__mro__",
	[REMORA_FIELD_BASE] = ".__base__",
	[REMORA_FIELD_SUBCLASSES] = "->tp_subclasses",
	[REMORA_FIELD_NAME] = ".__name__",
	[REMORA_FIELD_QUALNAME] = ".__qualname__",
	[REMORA_FIELD_MODULE] = ".__module__",
	[REMORA_FIELD_DOC] = ".__doc__",
	[REMORA_FIELD_CODE] = ".__code__",
	[REMORA_FIELD_GLOBALS] = ".__globals__",
	[REMORA_FIELD_BUILTINS] = ".__builtins__",
	[REMORA_FIELD_DEFAULTS] = ".__defaults__",
	[REMORA_FIELD_KWDEFAULTS] = ".__kwdefaults__",
	[REMORA_FIELD_CLOSURE] = ".__closure__",
	[REMORA_FIELD_ANNOTATIONS] = ".__annotations__",
	[REMORA_FIELD_CELL_CONTENTS] = ".cell_contents",
	[REMORA_FIELD_SELF] = ".__self__",
	[REMORA_FIELD_FUNC] = ".__func__",
	[REMORA_FIELD_CO_CONSTS] = ".co_consts",
	[REMORA_FIELD_CO_NAMES] = ".co_names",
	[REMORA_FIELD_CO_FILENAME] = ".co_filename",
	[REMORA_FIELD_CO_NAME] = ".co_name",
	[REMORA_FIELD_CO_QUALNAME] = ".co_qualname",
	[REMORA_FIELD_CO_LINETABLE] = ".co_linetable",
	[REMORA_FIELD_CO_EXCEPTIONTABLE] = ".co_exceptiontable",
	[REMORA_FIELD_CO_LOCALSPLUSNAMES] = "->co_localsplusnames",
	[REMORA_FIELD_CO_LOCALSPLUSKINDS] = "->co_localspluskinds",
	[REMORA_FIELD_CO_CODE] = ".co_code",
	[REMORA_FIELD_F_BACK] = ".f_back",
	[REMORA_FIELD_F_CODE] = ".f_code",
	[REMORA_FIELD_F_GLOBALS] = ".f_globals",
	[REMORA_FIELD_F_BUILTINS] = ".f_builtins",
	[REMORA_FIELD_F_LOCALS] = ".f_locals",
	[REMORA_FIELD_F_FUNC] = "->f_func",
	[REMORA_FIELD_F_TRACE] = ".f_trace",
	[REMORA_FIELD_GI_FRAME] = ".gi_frame",
	[REMORA_FIELD_TB_NEXT] = ".tb_next",
	[REMORA_FIELD_TB_FRAME] = ".tb_frame",
	[REMORA_FIELD_WEAKLIST] = "->tp_weaklist",
	[REMORA_FIELD_MD_DICT] = ".__dict__",
	[REMORA_FIELD_CACHE] = "->tp_cache",
	[REMORA_FIELD_OTHER] = ".??",
	[REMORA_FIELD_F_OBJECT] = "",
};

/* heapy's RootState member names (rootstate.c), without the i<n>_ /
 * i<n>_t<id>_ prefix. */
static const char *const root_members[REMORA_ROOT_COUNT] = {
	[REMORA_ROOT_MODULES] = "modules",
	[REMORA_ROOT_SYSDICT] = "sysdict",
	[REMORA_ROOT_BUILTINS] = "builtins",
	[REMORA_ROOT_IMPORTLIB] = "importlib",
	[REMORA_ROOT_INTERP_OTHER] = "other",
	[REMORA_ROOT_FRAME] = "f",
	[REMORA_ROOT_THREAD_DICT] = "dict",
	[REMORA_ROOT_THREAD_EXC] = "exc",
	[REMORA_ROOT_THREAD_OTHER] = "other",
	[REMORA_ROOT_GC] = "gc_only",
	[REMORA_ROOT_INTERP_DICT] = "dict",
	[REMORA_ROOT_BUILTINS_COPY] = "builtins_copy",
	[REMORA_ROOT_IMPORT_FUNC] = "import_func",
	[REMORA_ROOT_CODEC_SEARCH_PATH] = "codec_search_path",
	[REMORA_ROOT_CODEC_SEARCH_CACHE] = "codec_search_cache",
	[REMORA_ROOT_CODEC_ERROR_REGISTRY] = "codec_error_registry",
	[REMORA_ROOT_MODULES_BY_INDEX] = "modules_by_index",
	[REMORA_ROOT_CUREXC_TYPE] = "curexc_type",
	[REMORA_ROOT_CUREXC_VALUE] = "curexc_value",
	[REMORA_ROOT_CUREXC_TRACEBACK] = "curexc_traceback",
	[REMORA_ROOT_CURRENT_EXCEPTION] = "current_exception",
	[REMORA_ROOT_EXC_VALUE] = "exc_value",
	[REMORA_ROOT_CONTEXT] = "context",
	[REMORA_ROOT_ASYNC_GEN_FIRSTITER] = "async_gen_firstiter",
	[REMORA_ROOT_ASYNC_GEN_FINALIZER] = "async_gen_finalizer",
	[REMORA_ROOT_PROFILEOBJ] = "c_profileobj",
	[REMORA_ROOT_TRACEOBJ] = "c_traceobj",
	[REMORA_ROOT_DELETE_LATER] = "delete_later",
	[REMORA_ROOT_SHIM_CODE] = "shim_code",
};

enum { REPRLIB_MAXSTRING = 30 };

/* ---- text ------------------------------------------------------------ */

void via_text_init(struct via_text *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->cap = cap;
	t->len = 0;
	if (cap)
		buf[0] = '\0';
}

void via_text_put(struct via_text *t, const char *s, size_t n)
{
	if (t->cap && t->len < t->cap - 1) {
		size_t room = t->cap - 1 - t->len;
		size_t k = n < room ? n : room;
		memcpy(t->buf + t->len, s, k);
		t->buf[t->len + k] = '\0';
	}
	t->len += n;
}

void via_text_printf(struct via_text *t, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		via_text_put(t, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* One code point from UTF-8 (the walker writes valid UTF-8; a stray byte
 * is taken as itself). */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	int len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if ((size_t)len > n - *i)
		len = 1;
	uint32_t cp = len == 1 ? c : c & (0x3f >> (len - 1));
	for (int k = 1; k < len; k++)
		cp = cp << 6 | (s[*i + k] & 0x3f);
	*i += (size_t)len;
	return cp;
}

/* Whether Python's str.isprintable() holds for cp, closely enough: the
 * C0/C1 controls, DEL, the no-break and other non-space separators and
 * the soft hyphen are not; the rest of what a label meets is. */
static bool printable(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad)
		return false;
	if ((cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0x3000 || cp == 0xfeff)
		return false;
	return true;
}

/* Python's repr() of a str, appended to t. */
static void repr_str(struct via_text *t, const char *s, size_t n, bool truncated)
{
	const unsigned char *u = (const unsigned char *)s;
	bool has_single = memchr(s, '\'', n) != NULL;
	bool has_double = memchr(s, '"', n) != NULL;
	char quote = has_single && !has_double ? '"' : '\'';
	via_text_put(t, &quote, 1);
	for (size_t i = 0; i < n;) {
		size_t start = i;
		uint32_t cp = utf8_next(u, n, &i);
		if (cp == (uint32_t)quote || cp == '\\') {
			char esc[2] = { '\\', (char)cp };
			via_text_put(t, esc, 2);
		} else if (cp == '\n') {
			via_text_put(t, "\\n", 2);
		} else if (cp == '\r') {
			via_text_put(t, "\\r", 2);
		} else if (cp == '\t') {
			via_text_put(t, "\\t", 2);
		} else if (!printable(cp)) {
			if (cp <= 0xff)
				via_text_printf(t, "\\x%02x", cp);
			else if (cp <= 0xffff)
				via_text_printf(t, "\\u%04x", cp);
			else
				via_text_printf(t, "\\U%08x", cp);
		} else {
			/* the code point's bytes as they are */
			via_text_put(t, s + start, i - start);
		}
	}
	if (truncated)
		via_text_put(t, "...", 3);
	via_text_put(t, &quote, 1);
}

void via_text_repr_str(struct via_text *t, const char *s, size_t n,
		       bool truncated)
{
	repr_str(t, s, n, truncated);
}

/* reprlib.repr() of a repr that is in r[0..n): kept whole up to 30
 * characters, else its first 13, "...", its last 14 (characters, not
 * bytes). */
static void reprlib_cut(struct via_text *t, const char *r, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)r[i] & 0xc0) != 0x80;
	if (chars <= REPRLIB_MAXSTRING) {
		via_text_put(t, r, n);
		return;
	}
	size_t head = (REPRLIB_MAXSTRING - 3) / 2;
	size_t tail = REPRLIB_MAXSTRING - 3 - head;
	size_t i = 0, c = 0;
	while (i < n && c < head) {
		i++;
		while (i < n && ((unsigned char)r[i] & 0xc0) == 0x80)
			i++;
		c++;
	}
	via_text_put(t, r, i);
	via_text_put(t, "...", 3);
	size_t j = n;
	c = 0;
	while (j > 0 && c < tail) {
		j--;
		while (j > 0 && ((unsigned char)r[j] & 0xc0) == 0x80)
			j--;
		c++;
	}
	via_text_put(t, r + j, n - j);
}

/* ---- objects ---------------------------------------------------------- */

bool via_str_truncated(const struct remora_snapshot *snap, uint32_t id)
{
	size_t n;
	const char *s = remora_snapshot_node_repr(snap, id, &n);
	size_t chars = 0;
	bool ascii = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		chars += (c & 0xc0) != 0x80;
		ascii = ascii && c < 0x80;
	}
	if (!ascii)
		return chars >= 64;
	/* sys.getsizeof of an ASCII str: the header (49 bytes before 3.12,
	 * 41 since, 16 more in a free-threaded build) and one byte per
	 * character plus the NUL. */
	uint64_t header = snap->python_version >= 0x030c0000 ? 41 : 49;
	if (snap->flags & REMORA_SNAP_FREE_THREADED)
		header += 16;
	return snap->size[id] > header + chars;
}

void via_text_object(struct via_text *t, const struct remora_snapshot *snap,
		     uint32_t id, bool abbreviate)
{
	if (id >= snap->node_count) {
		via_text_put(t, "?", 1);
		return;
	}
	uint32_t type = snap->type[id];
	size_t n;
	const char *s = remora_snapshot_node_repr(snap, id, &n);
	if (type == snap->str_type && type != REMORA_NO_NODE) {
		char buf[64 * 10 + 8];
		struct via_text r;
		via_text_init(&r, buf, sizeof(buf));
		repr_str(&r, s, n, via_str_truncated(snap, id));
		size_t len = r.len < sizeof(buf) ? r.len : sizeof(buf) - 1;
		if (abbreviate)
			reprlib_cut(t, buf, len);
		else
			via_text_put(t, buf, len);
		return;
	}
	if (n && (type == snap->int_type || type == snap->bool_type) &&
	    type != REMORA_NO_NODE) {
		via_text_put(t, s, n);
		return;
	}
	via_text_printf(t, "<%s at 0x%" PRIx64 ">", snap->types[type].display,
			snap->addr[id]);
}

void via_text_module_name(struct via_text *out,
			  const struct remora_snapshot *snap, uint32_t id)
{
	const uint64_t md_dict = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_MD_DICT);
	const uint64_t dict = remora_via(REMORA_VIA_FIELD, REMORA_FIELD_DICT);
	for (uint32_t e = snap->edge_start[id]; e < snap->edge_end[id]; e++) {
		if (snap->edge_via[e] != md_dict && snap->edge_via[e] != dict)
			continue;
		uint32_t d = snap->edge_target[e];
		for (uint32_t f = snap->edge_start[d]; f < snap->edge_end[d]; f++) {
			uint64_t via = snap->edge_via[f];
			if (remora_via_kind_of(via) != REMORA_VIA_DICT_VALUE)
				continue;
			uint32_t key = remora_snapshot_node_find(snap, remora_via_arg(via));
			size_t n;
			const char *k = key == REMORA_NO_NODE ? NULL :
					remora_snapshot_node_repr(snap, key, &n);
			if (!k || snap->type[key] != snap->str_type || n != 8 ||
			    memcmp(k, "__name__", 8))
				continue;
			uint32_t v = snap->edge_target[f];
			if (snap->type[v] == snap->str_type) {
				const char *name = remora_snapshot_node_repr(snap, v, &n);
				via_text_put(out, name, n);
				return;
			}
		}
	}
	via_text_printf(out, "<module at 0x%" PRIx64 ">", snap->addr[id]);
}

/* ---- labels ------------------------------------------------------------- */

/* The text of a name str at address addr (an attribute or local name),
 * raw (.name) or as its repr (['name']). */
static void name_text(struct via_text *t, const struct remora_snapshot *snap,
		      uint64_t addr, bool as_repr)
{
	uint32_t id = remora_snapshot_node_find(snap, addr);
	if (id == REMORA_NO_NODE || snap->type[id] != snap->str_type) {
		via_text_printf(t, "<at 0x%" PRIx64 ">", addr);
		return;
	}
	size_t n;
	const char *s = remora_snapshot_node_repr(snap, id, &n);
	if (as_repr)
		repr_str(t, s, n, via_str_truncated(snap, id));
	else
		via_text_put(t, s, n);
}

/* An edge's relation appended to t; in a path, keys are abbreviated as
 * reprlib abbreviates them. */
static void edge_label(struct via_text *t, const struct remora_snapshot *snap,
		       uint64_t via, bool in_path)
{
	uint64_t arg = remora_via_arg(via);
	switch (remora_via_kind_of(via)) {
	case REMORA_VIA_INDEX:
		via_text_printf(t, "[%" PRIu64 "]", arg);
		return;
	case REMORA_VIA_DICT_VALUE:
		via_text_put(t, "[", 1);
		via_text_object(t, snap, remora_snapshot_node_find(snap, arg), in_path);
		via_text_put(t, "]", 1);
		return;
	case REMORA_VIA_DICT_KEY:
		via_text_printf(t, ".keys()[%" PRIu64 "]", arg);
		return;
	case REMORA_VIA_ATTR:
		via_text_put(t, ".", 1);
		name_text(t, snap, arg, false);
		return;
	case REMORA_VIA_FIELD: {
		const char *f = arg < REMORA_FIELD_COUNT ? field_labels[arg] : NULL;
		if (!f)
			f = ".??";
		via_text_put(t, f, strlen(f));
		return;
	}
	case REMORA_VIA_LOCAL:
		via_text_put(t, ".f_locals[", 10);
		name_text(t, snap, arg, true);
		via_text_put(t, "]", 1);
		return;
	case REMORA_VIA_SET_ITEM:
		/* in a path, remora_snapshot_path_step() wraps the prefix */
		via_text_printf(t, "list(_)[%" PRIu64 "]", arg);
		return;
	case REMORA_VIA_STACK:
		via_text_printf(t, "->f_valuestack[%" PRIu64 "]", arg);
		return;
	case REMORA_VIA_INTERATTR:
		via_text_put(t, "->", 2);
		name_text(t, snap, arg, false);
		return;
	case REMORA_VIA_ROOT:
	case REMORA_VIA_UNKNOWN:
	default:
		via_text_put(t, ".??", 3);
		return;
	}
}

static uint64_t thread_ident(const struct remora_snapshot *snap,
			     uint64_t interp, uint64_t index)
{
	for (uint32_t i = 0; i < snap->thread_count; i++) {
		const struct remora_rec_thread *th = &snap->threads[i];
		if (th->interp == interp && th->index == index && th->thread_id)
			return th->thread_id;
	}
	return index;
}

static void root_label(struct via_text *t, const struct remora_snapshot *snap,
		       uint64_t via, uint64_t where, bool in_path)
{
	uint64_t interp = remora_where_interp(where);
	uint64_t thread = remora_where_thread(where);
	uint64_t frame = remora_where_frame(where);
	via_text_printf(t, ".i%" PRIu64 "_", interp);
	if (thread)
		via_text_printf(t, "t%" PRIu64 "_",
				thread_ident(snap, interp, thread - 1));
	if (frame) {
		/* heapy numbers a thread's frames from the oldest, 0 */
		uint64_t n = remora_snapshot_thread_frames(snap, where);
		via_text_printf(t, "f%" PRIu64, n - frame);
		edge_label(t, snap, via, in_path);
		return;
	}
	uint64_t kind = remora_via_arg(via) & 0xffff;
	const char *m = remora_via_kind_of(via) == REMORA_VIA_ROOT &&
				kind < REMORA_ROOT_COUNT ? root_members[kind] : NULL;
	if (!m)
		m = "??";
	via_text_put(t, m, strlen(m));
}

/* ---- public ------------------------------------------------------------- */

size_t remora_snapshot_via_label(const struct remora_snapshot *snap,
				 uint64_t via, char *buf, size_t cap)
{
	struct via_text t;
	via_text_init(&t, buf, cap);
	edge_label(&t, snap, via, false);
	return t.len;
}

size_t remora_snapshot_root_label(const struct remora_snapshot *snap,
				  uint32_t root, char *buf, size_t cap)
{
	struct via_text t;
	via_text_init(&t, buf, cap);
	if (root >= snap->root_count)
		via_text_put(&t, ".??", 3);
	else
		root_label(&t, snap, snap->root_via[root], snap->root_where[root], false);
	return t.len;
}

size_t remora_snapshot_path_step(const struct remora_snapshot *snap,
				 const char *prefix, uint32_t root, uint64_t via,
				 char *buf, size_t cap)
{
	struct via_text t;
	via_text_init(&t, buf, cap);
	if (root == REMORA_NO_NODE &&
	    remora_via_kind_of(via) == REMORA_VIA_SET_ITEM) {
		/* heapy's list(%s)[i]: the member of the set the prefix names */
		via_text_put(&t, "list(", 5);
		via_text_put(&t, prefix, strlen(prefix));
		via_text_printf(&t, ")[%" PRIu64 "]", remora_via_arg(via));
		return t.len;
	}
	via_text_put(&t, prefix, strlen(prefix));
	if (root != REMORA_NO_NODE) {
		if (root >= snap->root_count)
			via_text_put(&t, ".??", 3);
		else
			root_label(&t, snap, snap->root_via[root],
				   snap->root_where[root], true);
	} else {
		edge_label(&t, snap, via, true);
	}
	return t.len;
}

size_t remora_snapshot_module_name(const struct remora_snapshot *snap,
				   uint32_t id, char *buf, size_t cap)
{
	struct via_text t;
	via_text_init(&t, buf, cap);
	if (id >= snap->node_count)
		via_text_put(&t, "?", 1);
	else
		via_text_module_name(&t, snap, id);
	return t.len;
}
