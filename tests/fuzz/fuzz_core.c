/* fuzz_core.c — libFuzzer target: the core reader (src/core_reader.c) on
 * any file, opened as a core with and without REMORA_CORE_ALLOW_TRUNCATED,
 * then read through: the notes' facts, every NT_FILE entry and the
 * build-id the core shows for it, reads at the edges of every segment,
 * and the input added as the local file of its entries (it is an ELF
 * file too) with the reads done again.
 *
 * Every read must stay inside what the reader maps (invariant 1 of
 * core_reader.h): a read that succeeds returns bytes of a segment, one
 * that fails records a fault at an address of the range asked for.  A
 * broken one is a finding (abort), as is any sanitizer report.  Seeds:
 * corpus/core/, a real core cut down and synthetic ones, made by
 * tests/fuzz/make-seeds.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core_reader.h"
#include "reader.h"
#include "remora/remora.h"

enum {
	FILES_MAX = 16,   /* NT_FILE entries looked at, at most */
	SEGS_MAX = 64,    /* segments read at, at most */
};

static int in_fd = -1;
static char in_path[64];
/* REMORA_FUZZ_STRICT: an input the reader refuses with and without
 * ALLOW_TRUNCATED is an error (run-fuzz runs the real seeds so). */
static bool strict;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_core: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strict = getenv("REMORA_FUZZ_STRICT") != NULL;
	in_fd = memfd_create("remora-fuzz-core", MFD_CLOEXEC);
	if (in_fd < 0)
		die("memfd_create failed");
	snprintf(in_path, sizeof(in_path), "/proc/self/fd/%d", in_fd);
	return 0;
}

static void drop(struct remora_error *err)
{
	if (err && !remora_error_message(err))
		die("an error without a message");
	remora_error_destroy(err);
}

/* A read of len bytes at addr: checked against the segment map. */
static void read_at(struct remora_reader *r, uint64_t addr, size_t len)
{
	uint8_t buf[64];
	if (len > sizeof(buf))
		len = sizeof(buf);
	r->faults = 0;
	if (remora_reader_read(r, addr, buf, len)) {
		if (len && !remora_reader_find(r, addr))
			die("a read succeeded outside every segment");
		return;
	}
	if (r->fault_address < addr || r->fault_address - addr >= len)
		die("a failed read recorded a fault outside its range");
	remora_reader_direct(r, addr, len);
	remora_reader_host_range(r, addr, len);
}

static void read_segments(struct remora_reader *r)
{
	for (size_t i = 0; i < r->count && i < SEGS_MAX; i++) {
		const struct remora_segment *s = &r->segs[i];
		if (s->end <= s->start)
			die("an empty or inverted segment");
		if (i > 0 && r->segs[i - 1].end > s->start)
			die("segments overlap or are unsorted");
		uint64_t len = s->end - s->start;
		read_at(r, s->start, len < 64 ? (size_t)len : 64);
		read_at(r, s->end - 1, 1);
		read_at(r, s->end - (len < 8 ? len : 8), 8); /* may straddle */
		read_at(r, s->end, 1);
		read_at(r, s->start - 1, 2);
		const uint8_t *p = remora_reader_direct(r, s->start, (size_t)(len < 16 ? len : 16));
		if (p) {
			volatile uint8_t sink = p[0];
			(void)sink;
		}
	}
	read_at(r, 0, 8);
	read_at(r, UINT64_MAX - 3, 8);
}

static void read_core(struct remora_core *core)
{
	uint64_t address = 0, bytes = 0;
	remora_core_truncated(core, &address, &bytes);
	size_t threads = remora_core_thread_count(core);
	for (size_t i = 0; i <= threads && i < 8; i++)
		remora_core_thread_tid(core, i);
	remora_core_pid(core);
	/* a kernel's are NUL-terminated (15 and 79 characters at most); a
	 * corrupt note's fill their fields */
	if (strlen(remora_core_program(core)) > 16 || strlen(remora_core_args(core)) > 80)
		die("a program name or arguments longer than their note fields");
	struct remora_reader *r = remora_core_reader(core);
	read_segments(r);

	size_t files = remora_core_file_count(core);
	for (size_t i = 0; i < files && i < FILES_MAX; i++) {
		uint64_t start, end, offset;
		const char *path;
		struct remora_error *err = remora_core_file_get(core, i, &start, &end,
							       &offset, &path);
		if (err) {
			drop(err);
			continue;
		}
		if (!path)
			die("an NT_FILE entry without a path");
		uint8_t id[64];
		size_t n = remora_core_file_build_id(core, i, id, sizeof(id));
		(void)n;
		remora_core_file_local(core, i);
		read_at(r, start, 8);
		/* the input itself as the entry's file: mostly refused (no
		 * build-id, or not the one the core shows), sometimes added */
		if (i < 4)
			drop(remora_core_add_file(core, i, in_path));
	}
	const char *path = NULL;
	drop(remora_core_file_get(core, files, &address, &bytes, &address, &path));
	if (files) {
		r = remora_core_reader(core);
		read_segments(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(in_fd, 0) < 0)
		die("ftruncate failed");
	for (size_t off = 0; off < size;) {
		ssize_t w = pwrite(in_fd, data + off, size - off, (off_t)off);
		if (w <= 0)
			die("pwrite failed");
		off += (size_t)w;
	}
	static const unsigned flags[] = { 0, REMORA_CORE_ALLOW_TRUNCATED };
	bool opened = false;
	for (size_t f = 0; f < 2; f++) {
		struct remora_core *core = NULL;
		struct remora_error *err = remora_core_open_flags(in_path, flags[f], &core);
		if (err) {
			drop(err);
			continue;
		}
		opened = true;
		read_core(core);
		remora_core_destroy(core);
	}
	if (strict && !opened)
		die("a real seed no longer opens: remake the seeds with "
		    "tests/fuzz/make-seeds");
	uint8_t id[64];
	size_t len = 0;
	drop(remora_elf_file_build_id(in_path, id, sizeof(id), &len));
	return 0;
}
