/* test_proc_reader.c — the proc reader against a real child process:
 * bytes equal the child's, reads cross block and segment boundaries,
 * unmapped and unreadable memory faults at the right address (also inside
 * a mapping: pages of a file mapping past the file's end), the cache
 * serves repeats without system calls, evicts when small, reads larger
 * than a block bypass it, and bad pids, zombies and exited processes are
 * clear errors or faults.  Also the parts of reader.h the proc reader
 * relies on: windows, precise callback faults, which mappings are read.
 *
 * The child is our own (fork): as root, or as its parent under Yama
 * ptrace_scope 1, we may open its /proc/PID/mem without attaching; it also
 * names us its tracer (PR_SET_PTRACER) in case Yama wants that.
 *
 * REMORA_PROC_BENCH=1 adds a micro-benchmark (per-read costs through the
 * reader against memcpy), printed to stdout; it also checks that every
 * pass read the child's bytes.  Without it the benchmark is not run, and
 * not listed: a test that ran nothing must not count as passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "error.h"
#include "proc_reader.h"
#include "unit.h"

enum {
	KIB = 1024,
	MIB = 1024 * 1024,
	REGION = 8 * MIB,
	HOLE_OFF = 3 * MIB + 12 * KIB,    /* munmap()ed */
	HOLE_LEN = 16 * KIB,
	RO_OFF = 2 * MIB + 20 * KIB,      /* read-only: a segment of its own */
	RO_LEN = 16 * KIB,
	NONE_OFF = 5 * MIB,               /* PROT_NONE: not a segment */
	NONE_LEN = 8 * KIB,
	FILE_PAGES = 3,                   /* whole pages of file content */
	FILE_TAIL = 100,                  /* bytes of one more page */
	FILE_MAP_PAGES = 8,               /* mapped: past EOF is unreadable */
	BLOCK = 64 * KIB,
	UNTOUCHED = 1 * MIB,              /* anonymous, all but two pages untouched */
	TOUCHED_A = 5,                    /* its pages the child wrote */
	TOUCHED_B = 200,
};

/* What the child reports through the pipe. */
struct child_info {
	uint64_t base;       /* REGION bytes of pattern, with the holes above */
	uint64_t file_map;   /* FILE_MAP_PAGES pages of a short file */
	uint64_t untouched;  /* UNTOUCHED bytes, pages TOUCHED_A/_B patterned */
	uint64_t page;
};

struct child {
	pid_t pid;
	int cmd;             /* write end: closing it lets the child exit */
	struct child_info info;
};

/* The word the child stores at every 8-aligned address a of the region. */
static uint64_t pattern_word(uint64_t a)
{
	return a * UINT64_C(0x9E3779B97F4A7C15) + UINT64_C(0x0123456789abcdef);
}

static uint8_t pattern_byte(uint64_t a)
{
	uint64_t w = pattern_word(a & ~UINT64_C(7));
	return (uint8_t)(w >> ((a & 7) * 8));
}

static uint8_t file_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + 3);
}

static void child_main(int info_fd, int cmd_fd, const char *file)
{
	prctl(PR_SET_PTRACER, (unsigned long)getppid(), 0, 0, 0);
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *b = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < REGION; i += 8) {
		uint64_t w = pattern_word((uint64_t)(uintptr_t)(b + i));
		memcpy(b + i, &w, 8);
	}

	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		_exit(4);
	size_t flen = (size_t)page * FILE_PAGES + FILE_TAIL;
	uint8_t *content = malloc(flen);
	if (!content)
		_exit(5);
	for (size_t i = 0; i < flen; i++)
		content[i] = file_byte(i);
	if (write(fd, content, flen) != (ssize_t)flen)
		_exit(6);
	/* at a block-aligned address, so that one block holds it all */
	size_t flen_map = (size_t)page * FILE_MAP_PAGES;
	uint8_t *resv = mmap(NULL, 2 * BLOCK, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (resv == MAP_FAILED)
		_exit(7);
	uint8_t *fm = (uint8_t *)(((uintptr_t)resv + BLOCK - 1) &
				  ~(uintptr_t)(BLOCK - 1));
	if (mmap(fm, flen_map, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) != fm)
		_exit(7);
	if ((fm > resv && munmap(resv, (size_t)(fm - resv))) ||
	    munmap(fm + flen_map, (size_t)(resv + 2 * BLOCK - (fm + flen_map))))
		_exit(7);
	close(fd);
	free(content);

	uint8_t *u = mmap(NULL, UNTOUCHED, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u == MAP_FAILED)
		_exit(9);
	madvise(u, UNTOUCHED, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < (size_t)page; i += 8) {
		uint64_t w;
		w = pattern_word((uint64_t)(uintptr_t)(u + TOUCHED_A * page + i));
		memcpy(u + TOUCHED_A * page + i, &w, 8);
		w = pattern_word((uint64_t)(uintptr_t)(u + TOUCHED_B * page + i));
		memcpy(u + TOUCHED_B * page + i, &w, 8);
	}

	/* the holes last: nothing may be mapped into them afterwards */
	if (munmap(b + HOLE_OFF, HOLE_LEN) ||
	    mprotect(b + RO_OFF, RO_LEN, PROT_READ) ||
	    mprotect(b + NONE_OFF, NONE_LEN, PROT_NONE))
		_exit(3);

	struct child_info info = {
		.base = (uint64_t)(uintptr_t)b,
		.file_map = (uint64_t)(uintptr_t)fm,
		.untouched = (uint64_t)(uintptr_t)u,
		.page = (uint64_t)page,
	};
	if (write(info_fd, &info, sizeof(info)) != sizeof(info))
		_exit(8);
	char c;
	while (read(cmd_fd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* GIVEN a child holding the pattern region and the short file mapping. */
static void child_start(struct child *c)
{
	int info[2], cmd[2];
	const char *file = unit_path("short-file");
	if (pipe(info) || pipe(cmd)) {
		perror("pipe");
		exit(99);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(99);
	}
	if (pid == 0) {
		close(info[0]);
		close(cmd[1]);
		child_main(info[1], cmd[0], file);
	}
	close(info[1]);
	close(cmd[0]);
	c->pid = pid;
	c->cmd = cmd[1];
	if (read(info[0], &c->info, sizeof(c->info)) != sizeof(c->info)) {
		fprintf(stderr, "the child did not start\n");
		exit(99);
	}
	close(info[0]);
}

static void child_stop(struct child *c)
{
	if (c->cmd >= 0)
		close(c->cmd);
	c->cmd = -1;
	waitpid(c->pid, NULL, 0);
}

static struct remora_proc *open_or_die(pid_t pid,
				       const struct remora_proc_options *o)
{
	struct remora_proc *proc = NULL;
	struct remora_error *err = remora_proc_open_with(pid, o, &proc);
	if (err) {
		fprintf(stderr, "remora_proc_open: %s\n", err->message);
		remora_error_destroy(err);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(proc);
	return proc;
}

/* Whether buf holds the pattern of [addr, addr + len). */
static bool is_pattern(const uint8_t *buf, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pattern_byte(addr + i))
			return false;
	}
	return true;
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A random offset in the region whose [off, off + len) avoids the hole and
 * the PROT_NONE pages. */
static uint64_t readable_offset(size_t len)
{
	for (;;) {
		uint64_t off = rng() % (REGION - len);
		if (off + len <= HOLE_OFF || off >= HOLE_OFF + HOLE_LEN)
			if (off + len <= NONE_OFF || off >= NONE_OFF + NONE_LEN)
				return off;
	}
}

static void test_bytes_equal(void)
{
	struct child c;
	child_start(&c);
	struct remora_proc *proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	uint8_t buf[128];
	uint64_t base = c.info.base;

	/* WHEN small reads land at random THEN each equals the child's bytes */
	bool all = true;
	for (int i = 0; i < 20000; i++) {
		size_t len = 1 + rng() % 72;
		uint64_t a = base + readable_offset(len);
		all &= remora_reader_read(r, a, buf, len) && is_pattern(buf, a, len);
	}
	CU_ASSERT_TRUE(all);
	/* WHEN the region is read sequentially, 8 bytes at a time, up to
	 * the hole THEN every word equals */
	all = true;
	for (uint64_t a = base; a < base + HOLE_OFF; a += 8) {
		uint64_t v;
		all &= remora_reader_u64(r, a, &v) && v == pattern_word(a);
	}
	CU_ASSERT_TRUE(all);
	CU_ASSERT_EQUAL(r->faults, 0);
	remora_proc_destroy(proc);
	child_stop(&c);
}

static void test_boundaries(void)
{
	struct child c;
	child_start(&c);
	struct remora_proc *proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	uint8_t buf[128];
	uint64_t base = c.info.base;

	/* WHEN a read straddles a block boundary THEN both halves arrive */
	uint64_t edge = (base + MIB) & ~(uint64_t)(BLOCK - 1);
	CU_ASSERT_TRUE(remora_reader_read(r, edge - 4, buf, 8));
	CU_ASSERT_TRUE(is_pattern(buf, edge - 4, 8));
	CU_ASSERT_TRUE(remora_reader_read(r, edge - 37, buf, 72));
	CU_ASSERT_TRUE(is_pattern(buf, edge - 37, 72));

	/* WHEN reads straddle the rw|ro and ro|rw segment boundaries (not
	 * block-aligned: two blocks share one aligned range) THEN they work */
	const struct remora_segment *ro = remora_reader_find(r, base + RO_OFF);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
	CU_ASSERT_EQUAL(ro->start, base + RO_OFF);
	CU_ASSERT_EQUAL(ro->end, base + RO_OFF + RO_LEN);
	CU_ASSERT_TRUE(remora_reader_read(r, base + RO_OFF - 20, buf, 64));
	CU_ASSERT_TRUE(is_pattern(buf, base + RO_OFF - 20, 64));
	CU_ASSERT_TRUE(remora_reader_read(r, base + RO_OFF + RO_LEN - 3, buf, 9));
	CU_ASSERT_TRUE(is_pattern(buf, base + RO_OFF + RO_LEN - 3, 9));
	/* and back and forth between them, now cached */
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_TRUE(remora_reader_read(r, base + RO_OFF - 8, buf, 16));
		CU_ASSERT_TRUE(is_pattern(buf, base + RO_OFF - 8, 16));
	}

	/* WHEN the segments are listed THEN they are sorted, readable only:
	 * the PROT_NONE pages and the hole are not in them */
	for (size_t i = 0; i + 1 < r->count; i++)
		CU_ASSERT_TRUE(r->segs[i].end <= r->segs[i + 1].start);
	CU_ASSERT_PTR_NULL(remora_reader_find(r, base + NONE_OFF));
	CU_ASSERT_PTR_NULL(remora_reader_find(r, base + HOLE_OFF));
	CU_ASSERT_EQUAL(r->faults, 0);
	remora_proc_destroy(proc);
	child_stop(&c);
}

static void test_gaps_fault(void)
{
	struct child c;
	child_start(&c);
	struct remora_proc *proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	uint8_t buf[256 * KIB];
	uint64_t base = c.info.base;
	uint64_t hole = base + HOLE_OFF, none = base + NONE_OFF;

	/* WHEN a read runs from readable memory into the hole THEN it fails at
	 * the hole's first byte */
	CU_ASSERT_FALSE(remora_reader_read(r, hole - 8, buf, 16));
	CU_ASSERT_EQUAL(r->fault_address, hole);
	/* WHEN it starts inside THEN it fails where it starts */
	CU_ASSERT_FALSE(remora_reader_read(r, hole + 100, buf, 8));
	CU_ASSERT_EQUAL(r->fault_address, hole + 100);
	CU_ASSERT_FALSE(remora_reader_read(r, none - 1, buf, 2));
	CU_ASSERT_EQUAL(r->fault_address, none);
	/* WHEN a large read (over a block) crosses into the PROT_NONE pages
	 * THEN it fails at their first byte too */
	CU_ASSERT_FALSE(remora_reader_read(r, none - 200 * KIB, buf, 256 * KIB));
	CU_ASSERT_EQUAL(r->fault_address, none);
	/* THEN the bytes right before and after the hole are still fine */
	CU_ASSERT_TRUE(remora_reader_read(r, hole - 8, buf, 8));
	CU_ASSERT_TRUE(is_pattern(buf, hole - 8, 8));
	CU_ASSERT_TRUE(remora_reader_read(r, hole + HOLE_LEN, buf, 8));
	CU_ASSERT_TRUE(is_pattern(buf, hole + HOLE_LEN, 8));
	/* wild pointers */
	CU_ASSERT_FALSE(remora_reader_read(r, 0, buf, 8));
	CU_ASSERT_FALSE(remora_reader_read(r, UINT64_MAX - 3, buf, 8));
	CU_ASSERT_EQUAL(r->faults, 6);
	remora_proc_destroy(proc);
	child_stop(&c);
}

/* A mapping the maps call readable whose pages past the file's end
 * cannot be read: a fault inside a segment, and inside one block (the
 * child maps the file block-aligned). */
static void test_short_block_faults(void)
{
	struct child c;
	child_start(&c);
	struct remora_proc *proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	uint64_t fm = c.info.file_map, page = c.info.page;
	uint64_t eof_page = fm + page * (FILE_PAGES + 1);
	uint8_t buf[64];

	const struct remora_segment *s = remora_reader_find(r, fm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(s->end >= fm + page * FILE_MAP_PAGES);

	/* WHEN the file's bytes are read THEN they are the file's (the last
	 * page's tail past EOF reads as the kernel's zeros: it is mapped) */
	CU_ASSERT_TRUE(remora_reader_read(r, fm + 10, buf, 16));
	bool same = true;
	for (int i = 0; i < 16; i++)
		same &= buf[i] == file_byte(10 + (uint64_t)i);
	CU_ASSERT_TRUE(same);
	uint64_t tail = fm + page * FILE_PAGES + FILE_TAIL;
	CU_ASSERT_TRUE(remora_reader_read(r, tail - 4, buf, 8));
	CU_ASSERT_EQUAL(buf[3], file_byte(page * FILE_PAGES + FILE_TAIL - 1));
	CU_ASSERT_EQUAL(buf[4], 0);

	/* WHEN a read crosses into the first page past EOF THEN it fails
	 * there: not at the read's start, and not with zeros */
	struct remora_proc_stats before, after;
	remora_proc_stats(proc, &before);
	CU_ASSERT_FALSE(remora_reader_read(r, eof_page - 8, buf, 16));
	CU_ASSERT_EQUAL(r->fault_address, eof_page);
	CU_ASSERT_FALSE(remora_reader_read(r, eof_page + page + 24, buf, 8));
	CU_ASSERT_EQUAL(r->fault_address, eof_page + page + 24);
	/* THEN the failure is remembered: retries make no system call */
	remora_proc_stats(proc, &after);
	CU_ASSERT_EQUAL(after.syscalls, before.syscalls);
	CU_ASSERT_EQUAL(after.bad_pages, FILE_MAP_PAGES - FILE_PAGES - 1);
	/* and the readable part of that block still reads */
	CU_ASSERT_TRUE(remora_reader_read(r, eof_page - 8, buf, 8));
	CU_ASSERT_EQUAL(buf[7], 0);
	CU_ASSERT_TRUE(remora_reader_read(r, fm, buf, 1));
	CU_ASSERT_EQUAL(buf[0], file_byte(0));
	remora_proc_destroy(proc);
	child_stop(&c);
}

/* Reads a and b alternately n times each; whether all were right. */
static bool alternate(struct remora_reader *r, uint64_t a, uint64_t b, int n)
{
	bool ok = true;
	uint64_t v;
	for (int i = 0; i < n; i++) {
		uint64_t x = a + (uint64_t)(i % 64) * 8;
		ok &= remora_reader_u64(r, x, &v) && v == pattern_word(x);
		ok &= remora_reader_u64(r, b, &v) && v == pattern_word(b);
	}
	return ok;
}

static void test_cache_serves_repeats(void)
{
	struct child c;
	child_start(&c);
	struct remora_proc *proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	struct remora_proc_stats s0, s1, s2;
	uint64_t a = c.info.base + MIB + 8;
	uint64_t b = c.info.base + 4 * MIB + 16;
	uint64_t v;

	/* WHEN two blocks are read once THEN each cost a fill */
	remora_proc_stats(proc, &s0);
	CU_ASSERT_TRUE(remora_reader_u64(r, a, &v));
	CU_ASSERT_TRUE(remora_reader_u64(r, b, &v));
	remora_proc_stats(proc, &s1);
	CU_ASSERT_EQUAL(s1.misses - s0.misses, 2);
	CU_ASSERT_TRUE(s1.syscalls - s0.syscalls >= 2);
	CU_ASSERT_EQUAL(s1.bytes_read - s0.bytes_read, 2 * BLOCK);

	/* WHEN they are read again, alternately, many times THEN no system
	 * call is made, nor even a call into the cache: each is its set's
	 * latest block, so the reader's windows serve them inline */
	CU_ASSERT_TRUE(alternate(r, a, b, 1000));
	remora_proc_stats(proc, &s2);
	CU_ASSERT_EQUAL(s2.syscalls, s1.syscalls);
	CU_ASSERT_EQUAL(s2.misses, s1.misses);
	CU_ASSERT_EQUAL(s2.hits, s1.hits);
	remora_proc_destroy(proc);

	/* GIVEN a cache of 4 sets of 2 ways of 16 KiB, and two blocks of one
	 * set (4 blocks apart) */
	struct remora_proc_options o = {
		.block_size = 16 * KIB, .cache_size = 128 * KIB, .ways = 2,
	};
	proc = open_or_die(c.pid, &o);
	r = remora_proc_reader(proc);
	b = a + 4 * 16 * KIB;
	CU_ASSERT_TRUE(remora_reader_u64(r, a, &v));
	CU_ASSERT_TRUE(remora_reader_u64(r, b, &v));
	remora_proc_stats(proc, &s1);
	CU_ASSERT_EQUAL(s1.misses, 2);
	/* WHEN they are read alternately THEN the cache serves every read
	 * (each displaces the other from the window), without system calls */
	CU_ASSERT_TRUE(alternate(r, a, b, 1000));
	remora_proc_stats(proc, &s2);
	CU_ASSERT_EQUAL(s2.syscalls, s1.syscalls);
	CU_ASSERT_EQUAL(s2.misses, s1.misses);
	CU_ASSERT_EQUAL(s2.hits - s1.hits, 2000);
	CU_ASSERT_EQUAL(s2.evictions, 0);
	remora_proc_destroy(proc);
	child_stop(&c);
}

static void test_small_cache_evicts(void)
{
	struct child c;
	child_start(&c);
	/* GIVEN a cache of 4 sets of 2 ways of 16 KiB */
	struct remora_proc_options o = {
		.block_size = 16 * KIB, .cache_size = 128 * KIB, .ways = 2,
	};
	struct remora_proc *proc = open_or_die(c.pid, &o);
	struct remora_reader *r = remora_proc_reader(proc);
	uint8_t buf[80];

	/* WHEN far more blocks are read than it holds THEN the bytes are
	 * still right, and blocks were evicted */
	bool ok = true;
	for (int i = 0; i < 5000; i++) {
		size_t len = 1 + rng() % 72;
		uint64_t a = c.info.base + readable_offset(len);
		ok &= remora_reader_read(r, a, buf, len) && is_pattern(buf, a, len);
	}
	CU_ASSERT_TRUE(ok);
	struct remora_proc_stats s;
	remora_proc_stats(proc, &s);
	CU_ASSERT_TRUE(s.evictions > 0);
	CU_ASSERT_TRUE(s.misses <= 5000 * 2);
	/* WHEN one block is read, then 2 others of its set, then it again
	 * THEN it was evicted and costs a fill again (LRU, 2 ways) */
	uint64_t a = c.info.base + 16 * KIB * 8;   /* 4 sets * 16 KiB apart */
	uint64_t set_stride = 4 * 16 * KIB;
	uint64_t v;
	CU_ASSERT_TRUE(remora_reader_u64(r, a, &v));
	CU_ASSERT_TRUE(remora_reader_u64(r, a + set_stride, &v));
	CU_ASSERT_TRUE(remora_reader_u64(r, a + 2 * set_stride, &v));
	struct remora_proc_stats s1, s2;
	remora_proc_stats(proc, &s1);
	CU_ASSERT_TRUE(remora_reader_u64(r, a, &v));
	CU_ASSERT_EQUAL(v, pattern_word(a));
	remora_proc_stats(proc, &s2);
	CU_ASSERT_EQUAL(s2.misses - s1.misses, 1);
	/* and the one read just before it is still there */
	CU_ASSERT_TRUE(remora_reader_u64(r, a + 2 * set_stride, &v));
	struct remora_proc_stats s3;
	remora_proc_stats(proc, &s3);
	CU_ASSERT_EQUAL(s3.misses, s2.misses);
	remora_proc_destroy(proc);
	child_stop(&c);
}

static void test_large_read(void)
{
	struct child c;
	child_start(&c);
	struct remora_proc *proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	size_t len = 3 * BLOCK + 1234;
	uint8_t *buf = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	/* WHEN a read larger than a block, unaligned, crossing the rw|ro|rw
	 * segments is made THEN it is right, and its pieces larger than a
	 * block (the rw ones; the ro segment is smaller) bypass the cache */
	uint64_t a = c.info.base + RO_OFF - BLOCK - 77;
	CU_ASSERT_TRUE(remora_reader_read(r, a, buf, len));
	CU_ASSERT_TRUE(is_pattern(buf, a, len));
	struct remora_proc_stats s;
	remora_proc_stats(proc, &s);
	CU_ASSERT_EQUAL(s.direct, 2);
	CU_ASSERT_EQUAL(s.misses, 1);
	free(buf);
	remora_proc_destroy(proc);
	child_stop(&c);
}

/* The child's resident bytes (smaps_rollup's Rss), or 0. */
static uint64_t child_rss(pid_t pid)
{
	char path[64], line[256];
	uint64_t kib = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %lu kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib * KIB;
}

static void test_untouched_pages(void)
{
	struct child c;
	child_start(&c);
	struct remora_proc *proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	uint64_t page = c.info.page, u = c.info.untouched;
	uint64_t before = child_rss(c.pid);
	CU_ASSERT_NOT_EQUAL(before, 0);
	/* WHEN every page of the anonymous region is read, through the
	 * cache (a word per page) and around it (the whole region at once)
	 * THEN the two pages the child wrote read as its pattern, the
	 * others as zeros, and the child's resident size has not grown: a
	 * page it never touched is not made resident by being read
	 * (reading one through /proc/PID/mem would allocate it) */
	bool words_ok = true, whole_ok = true;
	for (uint64_t p = 0; p < UNTOUCHED / page; p++) {
		uint64_t w = 1, a = u + p * page + 8 * (p % 16);
		CU_ASSERT_TRUE(remora_reader_read(r, a, &w, 8));
		bool touched = p == TOUCHED_A || p == TOUCHED_B;
		if (touched ? w != pattern_word(a) : w != 0)
			words_ok = false;
	}
	uint8_t *buf = malloc(UNTOUCHED);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memset(buf, 0xAA, UNTOUCHED);
	CU_ASSERT_TRUE(remora_reader_read(r, u, buf, UNTOUCHED));
	for (uint64_t i = 0; i < UNTOUCHED; i++) {
		uint64_t p = i / page;
		bool touched = p == TOUCHED_A || p == TOUCHED_B;
		if (buf[i] != (touched ? pattern_byte(u + i) : 0)) {
			whole_ok = false;
			break;
		}
	}
	/* AND the pages of the file it mapped and never read read as the
	 * file (zeros after its end in its last page), still without making
	 * them resident, and a page wholly past its end still faults */
	size_t flen = (size_t)page * FILE_PAGES + FILE_TAIL;
	uint8_t fbuf[8 * 4096];
	bool file_ok = page * 4 <= sizeof(fbuf);
	if (file_ok) {
		CU_ASSERT_TRUE(remora_reader_read(r, c.info.file_map, fbuf, page * 4));
		for (size_t i = 0; i < page * 4; i++) {
			if (fbuf[i] != (i < flen ? file_byte(i) : 0)) {
				file_ok = false;
				break;
			}
		}
		CU_ASSERT_FALSE(remora_reader_read(r, c.info.file_map + page * 4, fbuf, 8));
	}
	CU_ASSERT_TRUE(file_ok);
	CU_ASSERT_TRUE(words_ok);
	CU_ASSERT_TRUE(whole_ok);
	uint64_t after = child_rss(c.pid);
	if (after != before)
		fprintf(stderr, "the child's Rss grew from %lu to %lu bytes\n",
			(unsigned long)before, (unsigned long)after);
	CU_ASSERT_EQUAL(after, before);
	free(buf);
	remora_proc_destroy(proc);
	child_stop(&c);
}

static void test_bad_pid_and_options(void)
{
	struct remora_proc *proc = (struct remora_proc *)1;
	/* WHEN the pid is not one THEN INVALID_ARGUMENT, and *ret is NULL */
	struct remora_error *err = remora_proc_open(0, &proc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	CU_ASSERT_PTR_NULL(proc);
	remora_error_destroy(err);

	/* WHEN no process has the pid THEN an OS error saying so */
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	err = remora_proc_open(pid, &proc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_OS);
	CU_ASSERT_EQUAL(remora_error_errno(err), ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(remora_error_message(err), "does not exist"));
	CU_ASSERT_PTR_NOT_NULL(remora_error_path(err));
	remora_error_destroy(err);

	/* WHEN the geometry is impossible THEN INVALID_ARGUMENT */
	struct remora_proc_options o = { .block_size = 3000 };
	err = remora_proc_open_with(getpid(), &o, &proc);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	o = (struct remora_proc_options){ .block_size = 64 * KIB,
					  .cache_size = 64 * KIB, .ways = 2 };
	err = remora_proc_open_with(getpid(), &o, &proc);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	remora_proc_destroy(NULL);
}

static void test_exited_process(void)
{
	/* GIVEN a child that has exited but is not reaped (a zombie) */
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	siginfo_t si;
	CU_ASSERT_EQUAL_FATAL(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	/* WHEN it is opened THEN ESRCH: it has no memory left */
	struct remora_proc *proc = NULL;
	struct remora_error *err = remora_proc_open(pid, &proc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_OS);
	CU_ASSERT_EQUAL(remora_error_errno(err), ESRCH);
	CU_ASSERT_PTR_NOT_NULL(strstr(remora_error_message(err), "exited"));
	CU_ASSERT_PTR_NULL(proc);
	remora_error_destroy(err);
	waitpid(pid, NULL, 0);

	/* GIVEN a child opened while alive, some of it cached, that exits */
	struct child c;
	child_start(&c);
	proc = open_or_die(c.pid, NULL);
	struct remora_reader *r = remora_proc_reader(proc);
	uint64_t a = c.info.base + 64, far = c.info.base + 6 * MIB;
	uint64_t v;
	CU_ASSERT_TRUE(remora_reader_u64(r, a, &v));
	child_stop(&c);
	/* WHEN memory it never read is read THEN it faults there, never
	 * zeros; what was cached stays what the stopped state held */
	CU_ASSERT_FALSE(remora_reader_u64(r, far, &v));
	CU_ASSERT_EQUAL(r->fault_address, far);
	CU_ASSERT_TRUE(remora_reader_u64(r, a, &v));
	CU_ASSERT_EQUAL(v, pattern_word(a));
	uint8_t big[2 * BLOCK];
	CU_ASSERT_FALSE(remora_reader_read(r, far, big, sizeof(big)));
	CU_ASSERT_EQUAL(r->fault_address, far);
	remora_proc_destroy(proc);
}

/* ---- the reader's side (reader.h) the proc reader relies on ---- */

static unsigned int counted_calls;

/* A callback segment of a pattern that counts its calls and fails at
 * 0x7003, saying so precisely through its reader (seg->arg). */
static bool counted_read(const struct remora_segment *seg, uint64_t addr,
			 void *buf, size_t len)
{
	uint8_t *out = buf;
	counted_calls++;
	for (size_t i = 0; i < len; i++) {
		if (addr + i == 0x7003) {
			remora_reader_fault(seg->arg, addr + i);
			return false;
		}
		out[i] = (uint8_t)(addr + i);
	}
	return true;
}

static void test_reader_windows(void)
{
	static uint8_t bytes[0x100];
	struct remora_segment seg = {
		.start = 0x6000, .end = 0x8000, .read = counted_read,
	};
	struct remora_reader r;
	remora_reader_init(&r, &seg, 1);
	seg.arg = &r;
	/* GIVEN a table of 4 windows of 0x100-byte ranges, one showing
	 * [0x6100, 0x6200) */
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(0x6100 + i);
	struct remora_window table[4] = { { 0 } };
	table[(0x6100 >> 8) & 3] = (struct remora_window){
		.start = 0x6100, .len = 0x100, .host = bytes,
	};
	remora_reader_windows(&r, table, 4, 8);
	uint8_t buf[8];
	counted_calls = 0;
	/* WHEN a read lies inside the window THEN no callback runs */
	CU_ASSERT_TRUE(remora_reader_read(&r, 0x61f8, buf, 8));
	CU_ASSERT_EQUAL(buf[7], 0xff);
	CU_ASSERT_EQUAL(counted_calls, 0);
	/* WHEN it crosses the window's end, or its entry is empty THEN the
	 * callback serves it */
	CU_ASSERT_TRUE(remora_reader_read(&r, 0x61fc, buf, 8));
	CU_ASSERT_TRUE(remora_reader_read(&r, 0x6500, buf, 8));
	CU_ASSERT_EQUAL(buf[0], 0x00);
	CU_ASSERT_EQUAL(counted_calls, 2);
	/* WHEN the callback fails and says where THEN that is the fault
	 * address, counted once */
	CU_ASSERT_FALSE(remora_reader_read(&r, 0x7000, buf, 8));
	CU_ASSERT_EQUAL(r.fault_address, 0x7003);
	CU_ASSERT_EQUAL(r.faults, 1);
	/* WHEN the reader is initialized again THEN no window is left */
	remora_reader_init(&r, &seg, 1);
	counted_calls = 0;
	CU_ASSERT_TRUE(remora_reader_read(&r, 0x6100, buf, 8));
	CU_ASSERT_EQUAL(counted_calls, 1);
}

static void test_maps_usable(void)
{
	static const struct { const char *path; bool usable; } cases[] = {
		{ "", true },
		{ "[heap]", true },
		{ "[stack]", true },
		{ "/usr/lib/x86_64-linux-gnu/libc.so.6", true },
		{ "/dev/zero (deleted)", true },
		{ "[vvar]", false },
		{ "[vvar_vclock]", false },
		{ "[vsyscall]", false },
		{ "/dev/dri/card0", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(remora_reader_maps_usable(cases[i].path,
							  strlen(cases[i].path)),
				cases[i].usable);
}

/* ---- micro-benchmark (REMORA_PROC_BENCH=1) ---- */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The checksum of the words a pass reads: each word weighted by its
 * position, so a read answered with another address's word shows. */
static uint64_t bench_fold(uint64_t sum, uint64_t word)
{
	return sum * 31 + word;
}

/* ns per 8-byte read of n addresses from addrs[] through r, or, with r
 * NULL, by memcpy from host (addresses relative to base); the checksum
 * of the words read goes to *sum_ret, 0 if a read faulted. */
static double bench_reads(struct remora_reader *r, const uint8_t *host,
			  uint64_t base, const uint64_t *addrs, size_t n,
			  uint64_t *sum_ret)
{
	uint64_t sum = 0, v;
	bool faulted = false;
	double t = now();
	for (size_t i = 0; i < n; i++) {
		if (r) {
			if (!remora_reader_u64(r, addrs[i], &v)) {
				faulted = true;
				v = 0;
			}
		} else {
			memcpy(&v, host + (addrs[i] - base), 8);
		}
		sum = bench_fold(sum, v);
	}
	t = now() - t;
	*sum_ret = faulted ? 0 : sum;
	return t * 1e9 / (double)n;
}

/* GIVEN the child's pattern region WHEN read 4M times in four patterns,
 * cold then warm, through the reader, and by memcpy from a copy THEN
 * every pass reads exactly the pattern's words (checksums equal to one
 * computed from pattern_word()), and the costs are printed. */
static void test_bench(void)
{
	struct child c;
	child_start(&c);
	uint64_t base = c.info.base;
	size_t span = HOLE_OFF;          /* readable, no holes, 3 MiB */
	size_t n = 4 << 20;
	uint64_t *addrs = malloc(n * sizeof(*addrs));
	uint8_t *host = malloc(span);
	CU_ASSERT_PTR_NOT_NULL_FATAL(addrs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(host);
	for (size_t i = 0; i < span; i += 8) {
		uint64_t w = pattern_word(base + i);
		memcpy(host + i, &w, 8);
	}
	/* sequential: 8 bytes after 8 bytes; random: anywhere in 3 MiB
	 * (48 blocks, all cached, each its set's window); object: ~10 reads
	 * per 64-byte object, objects at random; callback: two blocks of one
	 * set of 2 ways, alternately, so every read goes through the cache's
	 * code (the windows never hold the block asked for) */
	static const char *const names[] = {
		"sequential", "random", "object", "callback",
	};
	struct remora_proc_options one_set = {
		.block_size = BLOCK, .cache_size = 2 * BLOCK, .ways = 2,
	};
	for (int kind = 0; kind < 4; kind++) {
		for (size_t i = 0; i < n; i++) {
			uint64_t off;
			if (kind == 0)
				off = (i * 8) % (span - 8);
			else if (kind == 1)
				off = (rng() % (span / 8 - 1)) * 8;
			else if (kind == 2)
				off = (i % 10 == 0 ? rng() % (span / 64 - 1) * 64 :
				       (addrs[i - 1] - base) + 8);
			else
				off = (i % 2) * 4 * BLOCK + rng() % (BLOCK / 8) * 8;
			addrs[i] = base + off;
		}
		/* what the reads must give: the words the child stored */
		uint64_t want = 0, sum;
		for (size_t i = 0; i < n; i++)
			want = bench_fold(want, pattern_word(addrs[i]));
		struct remora_proc *proc =
			open_or_die(c.pid, kind == 3 ? &one_set : NULL);
		struct remora_reader *r = remora_proc_reader(proc);
		double cold = bench_reads(r, NULL, 0, addrs, n, &sum);
		CU_ASSERT_EQUAL(sum, want);
		double warm = 1e9, mem = 1e9;
		/* the best of a few rounds: these VMs are noisy */
		for (int round = 0; round < 5; round++) {
			double t = bench_reads(r, NULL, 0, addrs, n, &sum);
			CU_ASSERT_EQUAL(sum, want);
			warm = t < warm ? t : warm;
			t = bench_reads(NULL, host, base, addrs, n, &sum);
			CU_ASSERT_EQUAL(sum, want);
			mem = t < mem ? t : mem;
		}
		struct remora_proc_stats s;
		remora_proc_stats(proc, &s);
		printf("\n  bench %-10s: reader cold %6.1f ns, warm %6.1f ns, "
		       "memcpy %5.1f ns per 8-byte read (%llu fills, %llu hits)",
		       names[kind], cold, warm, mem,
		       (unsigned long long)s.misses, (unsigned long long)s.hits);
		remora_proc_destroy(proc);
	}
	printf("\n");
	free(host);
	free(addrs);
	child_stop(&c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	static struct unit_test tests[] = {
		{ "bytes equal the child's", test_bytes_equal },
		{ "reads across block and segment boundaries", test_boundaries },
		{ "gaps fault at the right address", test_gaps_fault },
		{ "unreadable pages inside a block fault, precisely", test_short_block_faults },
		{ "the cache serves repeats without syscalls", test_cache_serves_repeats },
		{ "a small cache evicts, least recently used", test_small_cache_evicts },
		{ "reads larger than a block", test_large_read },
		{ "untouched pages read as zeros, not made resident", test_untouched_pages },
		{ "bad pid and bad options are clear errors", test_bad_pid_and_options },
		{ "exited processes: errors and faults", test_exited_process },
		{ "reader windows and precise callback faults", test_reader_windows },
		{ "which mappings are read", test_maps_usable },
		{ "micro-benchmark (REMORA_PROC_BENCH=1)", test_bench },
		{ NULL, NULL },
	};
	if (!getenv("REMORA_PROC_BENCH")) {
		/* the last entry: not run, so not counted */
		size_t last = sizeof(tests) / sizeof(tests[0]) - 2;
		tests[last] = (struct unit_test){ NULL, NULL };
		printf("micro-benchmark not run (REMORA_PROC_BENCH=1 runs it)\n");
	}
	return unit_run("proc_reader", tests);
}
