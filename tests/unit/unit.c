/* unit.c — helpers for the engine's CUnit tests (unit.h). */
#include "unit.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "snapshot_format.h"

static char unit_dir[64];

static int unit_rm(const char *path, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	return remove(path);
}

static void unit_cleanup(void)
{
	if (unit_dir[0])
		nftw(unit_dir, unit_rm, 8, FTW_DEPTH | FTW_PHYS);
}

const char *unit_path(const char *name)
{
	static char ring[8][256];
	static unsigned next;
	if (!unit_dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(unit_dir, sizeof(unit_dir), "%s/remora-unit-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(unit_dir)) {
			perror("mkdtemp");
			exit(99);
		}
		if (!getenv("REMORA_UNIT_KEEP"))
		atexit(unit_cleanup);
	}
	char *p = ring[next++ % 8];
	snprintf(p, sizeof(ring[0]), "%s/%s", unit_dir, name);
	return p;
}

static void writer_open(struct unit_writer *u, const char *name, uint8_t *buf, size_t cap)
{
	u->path = unit_path(name);
	u->fd = open(u->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (u->fd < 0) {
		perror(u->path);
		exit(99);
	}
	remora_writer_init(&u->w, u->fd, buf, cap, 0x030b04f0);
}

void unit_writer_begin(struct unit_writer *u, const char *name)
{
	u->big = NULL;
	writer_open(u, name, u->buf, sizeof(u->buf));
}

void unit_writer_begin_big(struct unit_writer *u, const char *name, size_t cap)
{
	u->big = malloc(cap);
	if (!u->big) {
		perror("malloc");
		exit(99);
	}
	writer_open(u, name, u->big, cap);
}

void unit_node(struct unit_writer *u, uint64_t address, uint64_t type,
	       uint64_t size, const char *repr)
{
	/* Even sizes get inline values (extra = size / 2), odd ones none:
	 * both NODE encodings in every file. */
	struct remora_rec_node node = {
		.address = address,
		.type = type,
		.size = size,
		.extra = size % 2 ? 0 : size / 2,
		.flags = REMORA_NODE_GC |
			 (size % 2 ? 0 : REMORA_NODE_INLINE_VALUES),
	};
	remora_writer_node(&u->w, &node, repr, repr ? strlen(repr) : 0);
}

void unit_edge(struct unit_writer *u, uint64_t target, uint64_t via)
{
	remora_writer_edge(&u->w, target, via);
}

void unit_root(struct unit_writer *u, uint64_t target, uint64_t via)
{
	remora_writer_root(&u->w, target, via, remora_root_where(0, -1, -1));
}

void unit_root_where(struct unit_writer *u, uint64_t target, uint64_t via,
		     uint64_t where)
{
	remora_writer_root(&u->w, target, via, where);
}

void unit_type(struct unit_writer *u, uint64_t address, const char *name,
	       const char *module)
{
	remora_writer_type(&u->w, address, 0, 0, name, strlen(name), module,
			   strlen(module));
}

const char *unit_writer_end(struct unit_writer *u, uint32_t flags)
{
	int r = remora_writer_finish(&u->w, flags);
	if (r) {
		fprintf(stderr, "%s: %s\n", u->path, strerror(r));
		exit(99);
	}
	close(u->fd);
	free(u->big);
	u->big = NULL;
	return u->path;
}

uint8_t *unit_read_file(const char *path, size_t *len_ret)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(99);
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *data = malloc(len ? (size_t)len : 1);
	if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		exit(99);
	}
	fclose(f);
	*len_ret = (size_t)len;
	return data;
}

void unit_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(99);
	}
}

size_t unit_record_offsets(const uint8_t *data, size_t len, size_t *offsets,
			   size_t cap)
{
	size_t off = REMORA_SNAPSHOT_HEADER_SIZE, n = 0;
	while (off + 8 <= len && n < cap) {
		struct remora_rec_head h;
		memcpy(&h, data + off, sizeof(h));
		offsets[n++] = off;
		size_t payload;
		switch (h.tag) {
		case REMORA_REC_NODE: payload = remora_node_payload_size(h.n); break;
		case REMORA_REC_EDGES: payload = (size_t)h.n * 16; break;
		case REMORA_REC_ROOTS: payload = (size_t)h.n * 24; break;
		case REMORA_REC_SET: payload = (size_t)h.n * 8; break;
		case REMORA_REC_TYPE: payload = 24 + ((h.n + 7u) & ~7u); break;
		case REMORA_REC_END: return n;
		default: return n;
		}
		off += 8 + payload;
	}
	return n;
}

int unit_run(const char *suite, const struct unit_test *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	if (!s)
		return 99;
	for (const struct unit_test *t = tests; t->name; t++) {
		if (!CU_add_test(s, t->name, t->fn))
			return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() +
			  CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
