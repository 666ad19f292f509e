/* walker_seed.c — makes seeds for fuzz_walker from a real core: walks the
 * core as `py-heap` would (core reader, NT_FILE entries backed by the
 * files of those paths where they exist here) through a reader that
 * records which 64-byte lines of memory the walk read, and writes the
 * first BUDGET bytes of lines it read, as fuzz_walker's input (the
 * runtime address, then the lines merged into segments).  Run by
 * tests/fuzz/make-seeds; not part of the build.
 *
 *   walker_seed CORE LAYOUT_TXT BUDGET OUT
 *
 * Replayed, the seed walks exactly as the core did until it reaches the
 * first line the budget left out: real objects, cut where it ran out.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_reader.h"
#include "layout.h"
#include "reader.h"
#include "snapshot_writer.h"
#include "walker.h"

enum { LINE_SHIFT = 6, LINE = 1 << LINE_SHIFT, HASH_BITS = 22 };

static struct remora_reader *inner;
static uint64_t *lines;       /* open addressing; 0 empty, else line + 1 */
static size_t line_count, line_budget;

static void record(uint64_t addr, size_t len)
{
	for (uint64_t l = addr >> LINE_SHIFT; l <= (addr + len - 1) >> LINE_SHIFT; l++) {
		if (line_count >= line_budget)
			return;
		size_t h = (size_t)((l * 0x9e3779b97f4a7c15ull) >> (64 - HASH_BITS));
		while (lines[h] && lines[h] != l + 1)
			h = (h + 1) & ((1u << HASH_BITS) - 1);
		if (!lines[h]) {
			lines[h] = l + 1;
			line_count++;
		}
	}
}

static bool recording_read(const struct remora_segment *seg, uint64_t addr,
			   void *buf, size_t len)
{
	if (!remora_reader_read(inner, addr, buf, len))
		return false;
	if (len)
		record(addr, len);
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void put(FILE *f, const void *p, size_t n)
{
	if (fwrite(p, 1, n, f) != n) {
		perror("write");
		exit(1);
	}
}

/* One segment of fuzz_walker's input: [start, start + len). */
static void put_segment(FILE *f, uint64_t start, uint64_t len)
{
	static uint8_t buf[1 << 20];
	if (len > sizeof(buf) || !remora_reader_read(inner, start, buf, len)) {
		fprintf(stderr, "walker_seed: cannot reread 0x%llx+%llu\n",
			(unsigned long long)start, (unsigned long long)len);
		exit(1);
	}
	uint32_t l32 = (uint32_t)len, reserved = 0;
	put(f, &start, 8);
	put(f, &l32, 4);
	put(f, &reserved, 4);
	put(f, buf, len);
	static const uint8_t zeros[8];
	put(f, zeros, (8 - len % 8) % 8);
}

static void load_layout(const char *path, struct remora_layout *layout)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(1);
	}
	memset(layout, 0, sizeof(*layout));
	layout->magic = REMORA_LAYOUT_MAGIC;
	layout->field_count = RL_FIELD_COUNT;
	for (unsigned i = 0; i < RL_FIELD_COUNT; i++)
		layout->v[i] = REMORA_LAYOUT_ABSENT;
	char name[64];
	long long value;
	while (fscanf(f, "%63s %lli", name, &value) == 2) {
		if (!strcmp(name, "python_version"))
			layout->python_version = (uint32_t)value;
		for (unsigned i = 0; i < RL_FIELD_COUNT; i++)
			if (!strcmp(remora_layout_spec_get(i)->name, name))
				layout->v[i] = value;
	}
	fclose(f);
	if (remora_layout_check(layout) >= 0) {
		fprintf(stderr, "walker_seed: %s is incomplete\n", path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: walker_seed CORE LAYOUT_TXT BUDGET OUT\n");
		return 2;
	}
	struct remora_layout layout;
	load_layout(argv[2], &layout);
	line_budget = strtoull(argv[3], NULL, 0) / LINE;

	struct remora_core *core = NULL;
	struct remora_error *err = remora_core_open_flags(argv[1],
							  REMORA_CORE_ALLOW_TRUNCATED, &core);
	if (err) {
		fprintf(stderr, "walker_seed: %s\n", remora_error_message(err));
		return 1;
	}
	for (size_t i = 0; i < remora_core_file_count(core); i++) {
		uint64_t start, end, offset;
		const char *path;
		remora_error_destroy(remora_core_file_get(core, i, &start, &end,
							  &offset, &path));
		if (access(path, R_OK) == 0)
			remora_error_destroy(remora_core_add_file(core, i, path));
	}
	inner = remora_core_reader(core);

	/* the core's segments, read through the recorder */
	struct remora_segment *segs = calloc(inner->count, sizeof(*segs));
	lines = calloc((size_t)1 << HASH_BITS, sizeof(*lines));
	static uint8_t wbuf[1 << 20];
	if (!segs || !lines)
		return 1;
	for (size_t i = 0; i < inner->count; i++)
		segs[i] = (struct remora_segment){
			.start = inner->segs[i].start, .end = inner->segs[i].end,
			.read = recording_read,
		};
	struct remora_reader reader;
	remora_reader_init(&reader, segs, inner->count);
	FILE *devnull = fopen("/dev/null", "w");
	struct remora_writer writer;
	remora_writer_init(&writer, fileno(devnull), wbuf, sizeof(wbuf),
			   layout.python_version);
	struct remora_walk_options options = { .self = false };
	struct remora_walk_stats stats;
	enum remora_walk_status status = remora_walk(&reader, &layout, &writer,
						     &options, &stats);
	if (status != REMORA_WALK_OK) {
		fprintf(stderr, "walker_seed: the walk failed (%d)\n", (int)status);
		return 1;
	}

	size_t n = 0;
	for (size_t h = 0; h < (size_t)1 << HASH_BITS; h++)
		if (lines[h])
			lines[n++] = lines[h] - 1;
	qsort(lines, n, sizeof(*lines), cmp_u64);
	FILE *out = fopen(argv[4], "wb");
	if (!out) {
		perror(argv[4]);
		return 1;
	}
	uint64_t runtime = (uint64_t)layout.v[RL_RUNTIME_ADDR];
	put(out, &runtime, 8);
	size_t segments = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && lines[j] == lines[j - 1] + 1 && j - i < (1 << 14))
			j++;
		put_segment(out, lines[i] << LINE_SHIFT, (uint64_t)(j - i) << LINE_SHIFT);
		segments++;
		i = j;
	}
	fclose(out);
	fprintf(stderr, "walker_seed: %s: %zu lines in %zu segments (of a walk of "
		"%llu objects)\n", argv[4], n, segments,
		(unsigned long long)stats.nodes);
	remora_core_destroy(core);
	return 0;
}
