/* export.c — a snapshot written out for other tools: Chrome DevTools' heap
 * snapshot (.heapsnapshot, V8's JSON format, which the Memory panel and
 * memlab read) and an SQLite database.
 *
 * Invariants:
 *  1. The graph is the snapshot's: every object is a node, every edge an
 *     edge with heapy's via label, every root an edge from one synthetic
 *     root object; so a tool computing dominators over the file gets
 *     remora's retained sizes (the synthetic nodes have size 0).
 *  2. A node's name is what the caller named it (views.object_name:
 *     "dict of module __main__", "function: m.f"), else a str's text, an
 *     int's digits, or its kind as byclodo prints it ("dict of m.C",
 *     "list").  Names and labels are interned once in the file's string
 *     table.
 *  3. Nothing is left half-written under the output's name: the file is
 *     written beside it and renamed when complete.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "graph.h"
#include "snapshot.h"
#include "via.h"

enum { LABEL_CAP = 4096 };

/* ---- names ------------------------------------------------------------ */

/* Writes the kind of id (byclodo's row label) into t. */
static void export_kind(struct via_text *t, const struct remora_snapshot *snap, uint32_t id)
{
	uint32_t type = snap->type[id];
	if (type != snap->dict_type) {
		via_text_printf(t, "%s", snap->types[type].display);
		return;
	}
	uint32_t owner = snap->owner[id];
	if (owner == REMORA_NO_NODE)
		via_text_printf(t, "dict (no owner)");
	else
		via_text_printf(t, "dict of %s", snap->types[snap->type[owner]].display);
}

/* Invariant 2: id's name into t. */
static void export_name(struct via_text *t, const struct remora_snapshot *snap,
			const char *const *named, uint32_t id)
{
	if (named && named[id]) {
		via_text_printf(t, "%s", named[id]);
		return;
	}
	uint32_t type = snap->type[id];
	size_t n = 0;
	const char *s = remora_snapshot_node_repr(snap, id, &n);
	if (n && type != REMORA_NO_NODE && (type == snap->str_type || type == snap->int_type ||
					    type == snap->bool_type)) {
		via_text_put(t, s, n);
		return;
	}
	export_kind(t, snap, id);
}

/* ---- a string table ------------------------------------------------- */

struct strtab {
	char *bytes;       /* every string, NUL-terminated, one after another */
	size_t used, cap;
	uint64_t *start;   /* [count]: offset of string i in bytes */
	uint32_t count, scap;
	uint32_t *slot;    /* [mask + 1]: string index + 1, 0: empty */
	uint64_t mask;
};

static uint64_t strtab_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3u;
	return h ^ (h >> 29);
}

static bool strtab_grow(struct strtab *st)
{
	uint64_t cap = st->mask ? 2 * (st->mask + 1) : 1024;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return false;
	for (uint32_t i = 0; i < st->count; i++) {
		const char *s = st->bytes + st->start[i];
		uint64_t h = strtab_hash(s, strlen(s)) & (cap - 1);
		while (slot[h])
			h = (h + 1) & (cap - 1);
		slot[h] = i + 1;
	}
	free(st->slot);
	st->slot = slot;
	st->mask = cap - 1;
	return true;
}

/* The index of s[0..n) in the table, added if new; false: no memory. */
static bool strtab_intern(struct strtab *st, const char *s, size_t n, uint32_t *index)
{
	if (2 * ((uint64_t)st->count + 1) > st->mask && !strtab_grow(st))
		return false;
	uint64_t h = strtab_hash(s, n) & st->mask;
	for (; st->slot[h]; h = (h + 1) & st->mask) {
		const char *have = st->bytes + st->start[st->slot[h] - 1];
		if (!strncmp(have, s, n) && !have[n]) {
			*index = st->slot[h] - 1;
			return true;
		}
	}
	if (st->used + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 1 << 16;
		while (cap < st->used + n + 1)
			cap *= 2;
		char *b = realloc(st->bytes, cap);
		if (!b)
			return false;
		st->bytes = b;
		st->cap = cap;
	}
	if (st->count == st->scap) {
		uint32_t cap = st->scap ? 2 * st->scap : 1024;
		uint64_t *start = realloc(st->start, (size_t)cap * sizeof(*start));
		if (!start)
			return false;
		st->start = start;
		st->scap = cap;
	}
	memcpy(st->bytes + st->used, s, n);
	st->bytes[st->used + n] = 0;
	st->start[st->count] = st->used;
	st->used += n + 1;
	st->slot[h] = ++st->count;
	*index = st->count - 1;
	return true;
}

static void strtab_free(struct strtab *st)
{
	free(st->bytes);
	free(st->start);
	free(st->slot);
}

/* ---- the output file (invariant 3) ---------------------------------- */

struct outfile {
	const char *path;
	char *tmp;
	FILE *f;
};

static struct remora_error *outfile_open(struct outfile *o, const char *path, bool stream)
{
	o->path = path;
	o->f = NULL;
	if (asprintf(&o->tmp, "%s.part", path) < 0) {
		o->tmp = NULL;
		return &remora_error_no_memory;
	}
	unlink(o->tmp);
	if (stream) {
		o->f = fopen(o->tmp, "w");
		if (!o->f) {
			struct remora_error *err = remora_error_create_os(errno, path, "cannot write");
			free(o->tmp);
			o->tmp = NULL;
			return err;
		}
		setvbuf(o->f, NULL, _IOFBF, 1 << 20);
	}
	return NULL;
}

/* Closes o; renames it into place if err is NULL, else removes it.
 * Returns err, or the error of closing or renaming. */
static struct remora_error *outfile_close(struct outfile *o, struct remora_error *err)
{
	if (o->f) {
		if ((ferror(o->f) || fclose(o->f)) && !err)
			err = remora_error_create_os(errno ? errno : EIO, o->path, "cannot write");
		o->f = NULL;
	}
	if (!err && rename(o->tmp, o->path))
		err = remora_error_create_os(errno, o->path, "cannot write");
	if (err && o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return err;
}

/* ---- Chrome DevTools heap snapshot ---------------------------------- */

/* V8's node types (the order is the format's). */
enum { HS_HIDDEN = 0, HS_ARRAY = 1, HS_STRING = 2, HS_OBJECT = 3, HS_CODE = 4, HS_CLOSURE = 5,
       HS_NUMBER = 7, HS_SYNTHETIC = 9 };
/* V8's edge types. */
enum { HE_ELEMENT = 1, HE_PROPERTY = 2, HE_INTERNAL = 3 };
/* Node fields per node; the synthetic root and "(GC roots)" come first. */
enum { HS_NODE_FIELDS = 7, HS_FIRST = 2 };

static const char HS_META[] =
	"{\"snapshot\":{\"meta\":{"
	"\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\","
	"\"trace_node_id\",\"detachedness\"],"
	"\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\",\"closure\","
	"\"regexp\",\"number\",\"native\",\"synthetic\",\"concatenated string\","
	"\"sliced string\",\"symbol\",\"bigint\",\"object shape\"],"
	"\"string\",\"number\",\"number\",\"number\",\"number\",\"number\"],"
	"\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
	"\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\","
	"\"shortcut\",\"weak\"],\"string_or_number\",\"node\"],"
	"\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\","
	"\"script_id\",\"line\",\"column\"],"
	"\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\","
	"\"children\"],"
	"\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
	"\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]},";

static int hs_node_type(const struct remora_snapshot *snap, uint32_t id)
{
	uint32_t type = snap->type[id];
	if (type == snap->str_type)
		return HS_STRING;
	if (type == snap->int_type || type == snap->bool_type)
		return HS_NUMBER;
	const char *d = snap->types[type].display;
	if (!strcmp(d, "float") || !strcmp(d, "complex"))
		return HS_NUMBER;
	if (!strcmp(d, "function") || !strcmp(d, "method") || !strcmp(d, "types.MethodType") ||
	    !strcmp(d, "builtin_function_or_method"))
		return HS_CLOSURE;
	if (!strcmp(d, "types.CodeType") || !strcmp(d, "code") || !strcmp(d, "types.FrameType") ||
	    !strcmp(d, "frame"))
		return HS_CODE;
	return HS_OBJECT;
}

/* JSON string s[0..n): escapes, and invalid UTF-8 as U+FFFD. */
static void json_string(FILE *f, const char *s, size_t n)
{
	putc('"', f);
	for (size_t i = 0; i < n;) {
		uint8_t c = (uint8_t)s[i];
		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			putc(c, f);
			i++;
		} else {
			size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
			bool ok = len && i + len <= n;
			for (size_t k = 1; ok && k < len; k++)
				ok = ((uint8_t)s[i + k] & 0xc0) == 0x80;
			if (ok) {
				fwrite(s + i, 1, len, f);
				i += len;
			} else {
				fputs("\\ufffd", f);
				i++;
			}
		}
	}
	putc('"', f);
}

static struct remora_error *hs_write(const struct remora_snapshot *snap,
				     const char *const *named, FILE *f)
{
	struct strtab st = { 0 };
	char buf[LABEL_CAP];
	struct via_text t;
	uint32_t idx = 0;
	bool ok = true;
	uint64_t nodes = (uint64_t)snap->node_count + HS_FIRST;

	fputs(HS_META, f);
	fprintf(f, "\"node_count\":%" PRIu64 ",\"edge_count\":%" PRIu64
		",\"trace_function_count\":0},\n\"nodes\":[", nodes,
		snap->edge_count + snap->root_count + 1);
	/* the root: one edge to "(GC roots)", which holds the roots */
	ok = ok && strtab_intern(&st, "", 0, &idx);
	fprintf(f, "%d,%u,1,0,1,0,0", HS_SYNTHETIC, idx);
	ok = ok && strtab_intern(&st, "(GC roots)", 10, &idx);
	fprintf(f, ",\n%d,%u,3,0,%u,0,0", HS_SYNTHETIC, idx, snap->root_count);
	for (uint32_t id = 0; id < snap->node_count && ok; id++) {
		via_text_init(&t, buf, sizeof(buf));
		export_name(&t, snap, named, id);
		ok = strtab_intern(&st, buf, t.len < sizeof(buf) ? t.len : sizeof(buf) - 1, &idx);
		uint64_t size = snap->size[id] < UINT32_MAX ? snap->size[id] : UINT32_MAX;
		fprintf(f, ",\n%d,%u,%" PRIu64 ",%" PRIu64 ",%u,0,0", hs_node_type(snap, id), idx,
			2 * ((uint64_t)id + HS_FIRST) + 1, size,
			snap->edge_end[id] - snap->edge_start[id]);
	}
	fputs("],\n\"edges\":[", f);
	fprintf(f, "%d,%u,%d", HE_ELEMENT, 1u, HS_NODE_FIELDS);
	for (uint32_t r = 0; r < snap->root_count && ok; r++) {
		size_t n = remora_snapshot_root_label(snap, r, buf, sizeof(buf));
		ok = strtab_intern(&st, buf, n < sizeof(buf) ? n : sizeof(buf) - 1, &idx);
		fprintf(f, ",\n%d,%u,%" PRIu64, HE_PROPERTY, idx,
			((uint64_t)snap->root_target[r] + HS_FIRST) * HS_NODE_FIELDS);
	}
	for (uint32_t id = 0; id < snap->node_count && ok; id++) {
		for (uint32_t e = snap->edge_start[id]; e < snap->edge_end[id] && ok; e++) {
			uint64_t via = snap->edge_via[e];
			uint64_t to = ((uint64_t)snap->edge_target[e] + HS_FIRST) * HS_NODE_FIELDS;
			if (remora_via_kind_of(via) == REMORA_VIA_INDEX) {
				fprintf(f, ",\n%d,%" PRIu64 ",%" PRIu64, HE_ELEMENT,
					remora_via_arg(via), to);
				continue;
			}
			size_t n = remora_snapshot_via_label(snap, via, buf, sizeof(buf));
			ok = strtab_intern(&st, buf, n < sizeof(buf) ? n : sizeof(buf) - 1, &idx);
			fprintf(f, ",\n%d,%u,%" PRIu64, HE_PROPERTY, idx, to);
		}
	}
	fputs("],\n\"trace_function_infos\":[],\"trace_tree\":[],\"samples\":[],"
	      "\"locations\":[],\n\"strings\":[", f);
	for (uint32_t i = 0; i < st.count && ok; i++) {
		if (i)
			fputs(",\n", f);
		const char *s = st.bytes + st.start[i];
		json_string(f, s, strlen(s));
	}
	fputs("]}\n", f);
	strtab_free(&st);
	return ok ? NULL : &remora_error_no_memory;
}

/* ---- SQLite --------------------------------------------------------- */

static const char SQL_SCHEMA[] =
	"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
	"CREATE TABLE types(id INTEGER PRIMARY KEY, address INTEGER, name TEXT, module TEXT,"
	" display TEXT);"
	"CREATE TABLE objects(id INTEGER PRIMARY KEY, address INTEGER, type TEXT, kind TEXT,"
	" size INTEGER, retained INTEGER, repr TEXT, type_id INTEGER REFERENCES types(id));"
	"CREATE TABLE edges(src INTEGER, dst INTEGER, via TEXT);"
	"CREATE TABLE roots(dst INTEGER, label TEXT);"
	"BEGIN;";
static const char SQL_INDEXES[] =
	"COMMIT;"
	"CREATE INDEX edges_src ON edges(src); CREATE INDEX edges_dst ON edges(dst);"
	"CREATE INDEX objects_type ON objects(type); CREATE INDEX objects_address ON objects(address);"
	"CREATE INDEX roots_dst ON roots(dst);";

static struct remora_error *sql_error(sqlite3 *db, const char *path, const char *what)
{
	return remora_error_create(REMORA_ERROR_OTHER, "cannot write %s: %s: %s", path, what,
				   db ? sqlite3_errmsg(db) : "out of memory");
}

/* Steps a prepared statement once and resets it; false on failure. */
static bool sql_row(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE;
}

enum { SQL_BATCH = 64 };

/* A table's rows go in SQL_BATCH at a time, by one statement that inserts
 * that many (SQLite's per-statement work was most of an export), the
 * last total % SQL_BATCH by a statement of their own: the total is known
 * before the first row. */
struct sql_rows {
	sqlite3_stmt *many, *tail, *cur;
	uint64_t left;          /* rows not yet inserted */
	int columns;
	int bound;              /* rows bound to cur so far */
	int rows;               /* rows cur inserts */
};

static sqlite3_stmt *sql_insert(sqlite3 *db, const char *table, int columns, int rows)
{
	/* "INSERT INTO t VALUES(?,?),(?,?)": 2 + 2 * columns bytes a row */
	size_t cap = 32 + strlen(table) + (size_t)rows * (3 + 2 * (size_t)columns);
	char *sql = malloc(cap);
	sqlite3_stmt *st = NULL;
	if (!sql)
		return NULL;
	size_t n = (size_t)snprintf(sql, cap, "INSERT INTO %s VALUES", table);
	for (int r = 0; r < rows; r++) {
		sql[n++] = r ? ',' : ' ';
		sql[n++] = '(';
		for (int c = 0; c < columns; c++) {
			if (c)
				sql[n++] = ',';
			sql[n++] = '?';
		}
		sql[n++] = ')';
	}
	sql[n] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		st = NULL;
	free(sql);
	return st;
}

static bool sql_rows_open(sqlite3 *db, struct sql_rows *r, const char *table, int columns,
			  uint64_t total)
{
	*r = (struct sql_rows){ .left = total, .columns = columns };
	if (total >= SQL_BATCH && !(r->many = sql_insert(db, table, columns, SQL_BATCH)))
		return false;
	if (total % SQL_BATCH &&
	    !(r->tail = sql_insert(db, table, columns, (int)(total % SQL_BATCH))))
		return false;
	r->cur = total >= SQL_BATCH ? r->many : r->tail;
	r->rows = total >= SQL_BATCH ? SQL_BATCH : (int)total;
	return true;
}

/* The parameter number of column col (from 1) in the row being bound. */
static int sql_col(const struct sql_rows *r, int col)
{
	return r->bound * r->columns + col;
}

/* A row is bound: inserts the batch when it is full.  False on failure. */
static bool sql_rows_next(struct sql_rows *r)
{
	if (++r->bound < r->rows)
		return true;
	bool ok = sql_row(r->cur);
	r->left -= (uint64_t)r->rows;
	r->bound = 0;
	r->cur = r->left >= SQL_BATCH ? r->many : r->tail;
	r->rows = r->left >= SQL_BATCH ? SQL_BATCH : (int)r->left;
	return ok;
}

static void sql_rows_close(struct sql_rows *r)
{
	sqlite3_finalize(r->many);
	sqlite3_finalize(r->tail);
}

static struct remora_error *sql_write(const struct remora_snapshot *snap,
				      const char *const *named, const char *path,
				      const char *final)
{
	sqlite3 *db = NULL;
	struct sql_rows rows[4] = { { 0 } };
	struct remora_error *err = NULL;
	char buf[LABEL_CAP], kind[LABEL_CAP];
	struct via_text t;
	/* one thread writes this database: no mutex around every call, and
	 * no allocation count (a global mutex on every malloc).  The
	 * configuration only takes before SQLite's first use in this
	 * process; later it refuses, and that is harmless. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		err = sql_error(db, final, "open");
		sqlite3_close(db);
		return err;
	}
	if (sqlite3_exec(db, SQL_SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
		err = sql_error(db, final, "schema");
		goto out;
	}
	uint64_t edges = 0;
	for (uint32_t id = 0; id < snap->node_count; id++)
		edges += snap->edge_end[id] - snap->edge_start[id];
	if (!sql_rows_open(db, &rows[0], "types", 5, snap->type_count) ||
	    !sql_rows_open(db, &rows[1], "objects", 8, snap->node_count) ||
	    !sql_rows_open(db, &rows[2], "edges", 3, edges) ||
	    !sql_rows_open(db, &rows[3], "roots", 2, snap->root_count)) {
		err = sql_error(db, final, "prepare");
		goto out;
	}
	struct sql_rows *r = &rows[0];
	for (uint32_t k = 0; k < snap->type_count; k++) {
		const struct remora_snapshot_type *ty = &snap->types[k];
		sqlite3_bind_int64(r->cur, sql_col(r, 1), k);
		sqlite3_bind_int64(r->cur, sql_col(r, 2), (int64_t)ty->address);
		sqlite3_bind_text(r->cur, sql_col(r, 3), ty->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(r->cur, sql_col(r, 4), ty->module, -1, SQLITE_STATIC);
		sqlite3_bind_text(r->cur, sql_col(r, 5), ty->display, -1, SQLITE_STATIC);
		if (!sql_rows_next(r)) {
			err = sql_error(db, final, "types");
			goto out;
		}
	}
	struct sql_rows *o = &rows[1], *e = &rows[2];
	for (uint32_t id = 0; id < snap->node_count; id++) {
		via_text_init(&t, kind, sizeof(kind));
		export_kind(&t, snap, id);
		via_text_init(&t, buf, sizeof(buf));
		export_name(&t, snap, named, id);
		sqlite3_stmt *s = o->cur;
		sqlite3_bind_int64(s, sql_col(o, 1), id);
		sqlite3_bind_int64(s, sql_col(o, 2), (int64_t)snap->addr[id]);
		sqlite3_bind_text(s, sql_col(o, 3), snap->types[snap->type[id]].display, -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(s, sql_col(o, 4), kind, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, sql_col(o, 5), (int64_t)snap->size[id]);
		sqlite3_bind_int64(s, sql_col(o, 6),
				   (int64_t)remora_snapshot_node_retained(snap, id));
		sqlite3_bind_text(s, sql_col(o, 7), buf, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, sql_col(o, 8), snap->type[id]);
		if (!sql_rows_next(o)) {
			err = sql_error(db, final, "objects");
			goto out;
		}
		for (uint32_t k = snap->edge_start[id]; k < snap->edge_end[id]; k++) {
			remora_snapshot_via_label(snap, snap->edge_via[k], buf, sizeof(buf));
			sqlite3_bind_int64(e->cur, sql_col(e, 1), id);
			sqlite3_bind_int64(e->cur, sql_col(e, 2), snap->edge_target[k]);
			sqlite3_bind_text(e->cur, sql_col(e, 3), buf, -1, SQLITE_TRANSIENT);
			if (!sql_rows_next(e)) {
				err = sql_error(db, final, "edges");
				goto out;
			}
		}
	}
	r = &rows[3];
	for (uint32_t k = 0; k < snap->root_count; k++) {
		remora_snapshot_root_label(snap, k, buf, sizeof(buf));
		sqlite3_bind_int64(r->cur, sql_col(r, 1), snap->root_target[k]);
		sqlite3_bind_text(r->cur, sql_col(r, 2), buf, -1, SQLITE_TRANSIENT);
		if (!sql_rows_next(r)) {
			err = sql_error(db, final, "roots");
			goto out;
		}
	}
	if (sqlite3_exec(db, SQL_INDEXES, NULL, NULL, NULL) != SQLITE_OK)
		err = sql_error(db, final, "indexes");
out:
	for (int i = 0; i < 4; i++)
		sql_rows_close(&rows[i]);
	if (sqlite3_close(db) != SQLITE_OK && !err)
		err = remora_error_create(REMORA_ERROR_OTHER, "cannot write %s: close", final);
	return err;
}

/* ---- the entry point ------------------------------------------------ */

struct remora_error *remora_snapshot_export(const struct remora_snapshot *snap,
					    enum remora_export_format format,
					    const char *path, const uint32_t *ids,
					    const char *const *names, size_t count)
{
	if (format != REMORA_EXPORT_HEAPSNAPSHOT && format != REMORA_EXPORT_SQLITE)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "unknown export format %d", (int)format);
	struct remora_error *err = remora_snapshot_dominators(snap);
	if (err)
		return err;
	const char **named = NULL;
	if (count) {
		named = calloc(snap->node_count ? snap->node_count : 1, sizeof(*named));
		if (!named)
			return &remora_error_no_memory;
		for (size_t i = 0; i < count; i++) {
			if (ids[i] < snap->node_count)
				named[ids[i]] = names[i];
		}
	}
	struct outfile o;
	err = outfile_open(&o, path, format == REMORA_EXPORT_HEAPSNAPSHOT);
	if (!err) {
		if (format == REMORA_EXPORT_HEAPSNAPSHOT)
			err = hs_write(snap, named, o.f);
		else
			err = sql_write(snap, named, o.tmp, path);
		err = outfile_close(&o, err);
	}
	free(named);
	return err;
}
