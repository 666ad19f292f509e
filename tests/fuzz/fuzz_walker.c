/* fuzz_walker.c — libFuzzer target: the walker (src/walker.c) over a
 * memory image made from the input, with a real layout descriptor
 * (layout-debian-python3.11.txt, Debian 12's python3.11, dumped by
 * tests/fuzz/make-seeds).  The walker must never crash, hang or read
 * outside the image, whatever the image holds (DESIGN.md invariant 3),
 * and what it writes must load: a snapshot the engine refuses is a
 * finding too.
 *
 * The input (little-endian; every part optional, a short one is cut):
 *
 *   offset  size  field
 *        0     8  the runtime address (replaces the layout's _PyRuntime)
 *        8        segments, until the input ends:
 *                   u64 start   u32 length   u32 reserved
 *                   length bytes (fewer if the input ends), padded to 8
 *
 * Segments are sorted by start; one that overlaps the one before it is
 * dropped, as is an empty one.  The reader sees exactly these bytes, as
 * host segments (the core reader's kind), and nothing else.  The seeds
 * (corpus/walker/) are the bytes a walk of a real core read first.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"
#include "reader.h"
#include "remora/remora.h"
#include "snapshot_writer.h"
#include "walker.h"

/* The layout, as "NAME VALUE" lines, compiled in (the build passes its
 * path) so that a crash reproduces with the binary alone. */
__asm__(".section .rodata\n"
	".globl fuzz_layout_text\n"
	"fuzz_layout_text:\n"
	".incbin \"" REMORA_FUZZ_LAYOUT "\"\n"
	".byte 0\n"
	".previous\n");
extern const char fuzz_layout_text[];

enum {
	MAX_SEGMENTS = 4096,
	SEGMENT_HEAD = 16,
	WRITER_BUFFER = 1 << 16,
};

static struct remora_layout layout;
/* Each segment's bytes in a block of their own, of their exact size, so
 * that AddressSanitizer sees a read one byte past any of them. */
static struct remora_segment segs[MAX_SEGMENTS];
static uint8_t writer_buf[WRITER_BUFFER];
static int out_fd = -1;
static char out_path[64];
static bool verbose;          /* REMORA_FUZZ_VERBOSE: say what each walk did */
/* REMORA_FUZZ_STRICT: a walk that finds no object is an error (run-fuzz
 * runs the seeds cut from a real core so, to notice when a layout or
 * walker change leaves them behind). */
static bool strict;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_walker: %s\n", what);
	abort();
}

/* Fills `layout` from the compiled-in text; a field the text lacks is
 * REMORA_LAYOUT_ABSENT.  A layout the walker would refuse makes every
 * run test nothing: that is fatal. */
static void layout_load(void)
{
	memset(&layout, 0, sizeof(layout));
	layout.magic = REMORA_LAYOUT_MAGIC;
	layout.field_count = RL_FIELD_COUNT;
	for (unsigned i = 0; i < RL_FIELD_COUNT; i++)
		layout.v[i] = REMORA_LAYOUT_ABSENT;
	const char *p = fuzz_layout_text;
	while (*p) {
		char name[64];
		long long value;
		int used = 0;
		if (sscanf(p, "%63s %lli%n", name, &value, &used) != 2)
			die("layout: a line is not NAME VALUE");
		if (!strcmp(name, "python_version"))
			layout.python_version = (uint32_t)value;
		for (unsigned i = 0; i < RL_FIELD_COUNT; i++)
			if (!strcmp(remora_layout_spec_get(i)->name, name))
				layout.v[i] = value;
		p += used;
		while (*p == '\n' || *p == ' ')
			p++;
	}
	int missing = remora_layout_check(&layout);
	if (missing >= 0) {
		fprintf(stderr, "fuzz_walker: the layout lacks %s: regenerate it "
			"with tests/fuzz/make-seeds\n",
			remora_layout_spec_get((unsigned)missing)->name);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	layout_load();
	verbose = getenv("REMORA_FUZZ_VERBOSE") != NULL;
	strict = getenv("REMORA_FUZZ_STRICT") != NULL;
	out_fd = memfd_create("remora-fuzz-walker", MFD_CLOEXEC);
	if (out_fd < 0)
		die("memfd_create failed");
	snprintf(out_path, sizeof(out_path), "/proc/self/fd/%d", out_fd);
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static int segment_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct remora_segment *)a)->start;
	uint64_t y = ((const struct remora_segment *)b)->start;
	return x < y ? -1 : x > y;
}

/* Cuts the input into segments (each copied to a block of its own);
 * returns how many. */
static size_t image_segments(const uint8_t *data, size_t size)
{
	size_t n = 0, off = 8;
	while (size - off >= SEGMENT_HEAD && n < MAX_SEGMENTS) {
		uint64_t start = le64(data + off);
		uint64_t len = le32(data + off + 8);
		off += SEGMENT_HEAD;
		if (len > size - off)
			len = size - off;
		if (len && start <= UINT64_MAX - len) {
			uint8_t *host = malloc(len);
			if (!host)
				die("out of memory");
			memcpy(host, data + off, len);
			segs[n++] = (struct remora_segment){
				.start = start, .end = start + len, .host = host,
			};
		}
		off += len;
		size_t pad = (8 - off % 8) % 8;
		off = pad > size - off ? size : off + pad;
	}
	/* sorted by start, then the overlapping ones dropped */
	qsort(segs, n, sizeof(segs[0]), segment_cmp);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (!kept || segs[i].start >= segs[kept - 1].end)
			segs[kept++] = segs[i];
		else
			free((void *)segs[i].host);
	}
	return kept;
}

/* What the walker wrote must be a snapshot the engine loads. */
static void check_output(enum remora_walk_status status,
			 const struct remora_walk_stats *stats)
{
	struct remora_snapshot *snap = NULL;
	struct remora_error *err = remora_snapshot_open(out_path, &snap);
	if (err) {
		fprintf(stderr, "fuzz_walker: the walk (status %d, %llu nodes) "
			"wrote a snapshot the engine refuses: %s\n", (int)status,
			(unsigned long long)stats->nodes, remora_error_message(err));
		abort();
	}
	if (remora_snapshot_node_count(snap) != stats->nodes)
		die("the snapshot's node count is not the walker's");
	remora_snapshot_destroy(snap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	layout.v[RL_RUNTIME_ADDR] = (int64_t)(le64(data) & INT64_MAX);
	size_t count = image_segments(data, size);
	struct remora_reader reader;
	remora_reader_init(&reader, segs, count);

	if (ftruncate(out_fd, 0) < 0 || lseek(out_fd, 0, SEEK_SET) < 0)
		die("cannot reset the output");
	struct remora_writer writer;
	remora_writer_init(&writer, out_fd, writer_buf, sizeof(writer_buf),
			   layout.python_version);
	struct remora_walk_options options = { .self = false };
	struct remora_walk_stats stats;
	enum remora_walk_status status =
		remora_walk(&reader, &layout, &writer, &options, &stats);
	if (remora_writer_finish(&writer, stats.snapshot_flags))
		die("writing to the memfd failed");
	if (status == REMORA_WALK_BAD_LAYOUT || status == REMORA_WALK_NOMEM ||
	    status == REMORA_WALK_WRITE)
		die("the walk failed on something other than the image");
	check_output(status, &stats);
	if (strict && stats.nodes == 0)
		die("a real seed no longer walks to any object: remake the "
		    "seeds with tests/fuzz/make-seeds");
	if (verbose)
		fprintf(stderr, "fuzz_walker: %zu segments: status %d, %llu objects, "
			"%llu edges, %llu roots, %llu bad, %llu faults, flags %u\n",
			count, (int)status, (unsigned long long)stats.nodes,
			(unsigned long long)stats.edges, (unsigned long long)stats.roots,
			(unsigned long long)stats.bad_objects,
			(unsigned long long)stats.read_faults, stats.snapshot_flags);
	for (size_t i = 0; i < count; i++)
		free((void *)segs[i].host);
	return 0;
}
