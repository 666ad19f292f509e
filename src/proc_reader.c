/* proc_reader.c — the proc reader: /proc/PID/maps into segments,
 * /proc/PID/mem through a block cache.  Interface and invariants:
 * proc_reader.h.  The reader it feeds: reader.h.
 *
 * The cache, for block size B (a power of two) and S sets of W ways:
 *
 *   target:  |<--- B --->|<--- B --->|<-- B -->...      aligned to B,
 *            [ seg 1 )[   seg 2          )              clipped to a segment
 *                 block number n = addr / B  ->  set n % S
 *
 *   set s:   way 0 (most recently used) ... way W-1 (the next victim)
 *            struct proc_block { start, len, valid page mask, data }
 *   data:    one mapping of S * W * B bytes (MAP_NORESERVE, huge pages
 *            if allowed: only filled blocks take memory), slots way-major;
 *            each proc_block owns one B-byte slot and keeps it when it
 *            moves inside its set.
 *
 * A block is identified by its first address: two segments sharing an
 * aligned B range make two blocks, in the same set.  `valid` has one bit
 * per page; a page whose read failed stays 0 and reads of it fault at
 * their first byte in it, however often they are retried (the target is
 * stopped: a failed page stays failed).
 *
 * Windows (reader.h): win[s] shows set s's way 0 — its most recently used
 * block — when that block is fully readable.  remora_reader_read() checks
 * it inline, so a read in any set's latest block costs no call; only
 * misses and hits in older ways reach proc_read_block().  A block leaves
 * way 0 only by a later block taking its place, which rewrites win[s];
 * win[s] is emptied before a victim's bytes are overwritten.
 *
 * Why pread() on /proc/PID/mem rather than process_vm_readv(): the file
 * is bound to the target's address space when opened, so a target that
 * exits (or a pid that is reused) gives failed reads, never another
 * process's bytes; a short read stops exactly at the first unreadable
 * page, where process_vm_readv() fails whole iovecs; it needs no per-call
 * permission check against a pid; it is what gdb itself reads through.
 * The price, measured on a 1.24M-object heap (117 MiB of blocks filled):
 * 72 ms of fills against 46 ms, about a tenth of the outside walk.
 */
#include "proc_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct proc_block {
	uint64_t start;       /* target address of data[0] */
	uint64_t valid;       /* bit i: page i of the block is readable */
	uint8_t *data;        /* B bytes, owned for the cache's lifetime */
	uint32_t len;         /* bytes (clipped to the segment); 0: empty */
};

/* A mapping whose pages the process never touched are read without
 * /proc/PID/mem (proc_read_span): private anonymous memory (zeros) or a
 * regular file (the file's bytes: what touching the page would map). */
struct proc_range {
	uint64_t start, end;
	uint64_t offset;      /* a file's: the file offset of start */
	uint64_t inode, dev;  /* a file's, as the maps line gives them */
	uint64_t size;        /* a file's size, once opened */
	char *path;           /* NULL: private anonymous memory */
	int fd;               /* a file's: -2 not opened yet, -1 unusable */
};

struct remora_proc {
	int pid;
	int mem_fd;
	int pagemap_fd;       /* -1: every page is read through mem_fd */
	struct proc_range *ranges;  /* sorted */
	size_t nranges;
	struct remora_reader reader;
	struct remora_segment *segs;
	size_t nsegs;

	size_t block_size;
	unsigned int block_shift;
	size_t page_size;
	unsigned int page_shift;
	size_t nsets;         /* power of two */
	unsigned int ways;
	struct proc_block *blocks;  /* set s: blocks[s * ways .. + ways) */
	/* set s's way 0 when fully readable, else empty: the reader's
	 * window table (reader.h), indexed like the sets */
	struct remora_window *win;
	uint8_t *data;
	size_t data_size;

	struct remora_proc_stats stats;
};

/* ---- opening: maps ---- */

static struct remora_error *proc_slurp(int fd, const char *path, char **buf_ret,
				       size_t *len_ret)
{
	size_t cap = 64 << 10, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return &remora_error_no_memory;
	for (;;) {
		if (len == cap) {
			char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return &remora_error_no_memory;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return remora_error_create_os(e, path, "cannot read the memory map");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*buf_ret = buf;
	*len_ret = len;
	return NULL;
}

/* Parses one hex number at *p (at least one digit, no overflow). */
static bool proc_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *q = *p;
	while (q < end) {
		unsigned int d;
		if (*q >= '0' && *q <= '9')
			d = (unsigned int)(*q - '0');
		else if (*q >= 'a' && *q <= 'f')
			d = (unsigned int)(*q - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX >> 4))
			return false;
		v = v << 4 | d;
		q++;
	}
	if (q == *p)
		return false;
	*p = q;
	*out = v;
	return true;
}

static bool proc_read_block(const struct remora_segment *seg, uint64_t addr,
			    void *buf, size_t len);

/* Whether a mapping of this name (the rest of its maps line) is
 * anonymous memory: no file, the heap, a stack, or named by its owner
 * (PR_SET_VMA_ANON_NAME). */
static bool proc_is_anon_name(const char *name, size_t len)
{
	if (len == 0)
		return true;
	static const char *const kinds[] = { "[heap]", "[stack", "[anon:" };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i]);
		if (len >= n && memcmp(name, kinds[i], n) == 0)
			return true;
	}
	return false;
}

/* A file mapping's offset, device and inode (the maps line's fields
 * after the permissions at q) and path into r: 1; 0 if the fields do
 * not parse (no range then: its pages are read as they are); -1 out of
 * memory. */
static int proc_parse_file(const char *q, const char *name, size_t name_len,
			   struct proc_range *r)
{
	unsigned long long offset, major, minor, inode;
	char perms[8], line[160];
	size_t n = (size_t)(name - q) < sizeof(line) - 1 ? (size_t)(name - q) : sizeof(line) - 1;
	memcpy(line, q, n);
	line[n] = '\0';
	if (sscanf(line, "%7s %llx %llx:%llx %llu", perms, &offset, &major, &minor,
		   &inode) != 5)
		return 0;
	r->offset = offset;
	r->dev = makedev((unsigned int)major, (unsigned int)minor);
	r->inode = inode;
	r->path = strndup(name, name_len);
	return r->path ? 1 : -1;
}

static int proc_range_cmp(const void *a, const void *b)
{
	const struct proc_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Fills proc->segs from the text of /proc/PID/maps:
 * "start-end perms offset dev inode [path]" per line. */
static struct remora_error *proc_parse_maps(struct remora_proc *proc,
					    const char *text, size_t len,
					    const char *path)
{
	size_t cap = 0, range_cap = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *q = p;
		uint64_t start, stop;
		if (!proc_hex(&q, eol, &start) || q == eol || *q++ != '-' ||
		    !proc_hex(&q, eol, &stop) || q == eol || *q++ != ' ' ||
		    eol - q < 4 || stop < start)
			return remora_error_create_at(REMORA_ERROR_FORMAT,
						      (uint64_t)(p - text),
						      "unparsable line in %s", path);
		bool readable = *q == 'r';
		bool private = q[3] == 'p';
		/* the path is the sixth field; it may be absent */
		const char *name = q;
		for (int field = 0; field < 4 && name < eol; field++) {
			while (name < eol && *name != ' ')
				name++;
			while (name < eol && *name == ' ')
				name++;
		}
		size_t name_len = (size_t)(eol - name);
		while (name_len && (name[name_len - 1] == ' ' || name[name_len - 1] == '\r'))
			name_len--;
		bool anon = private && proc_is_anon_name(name, name_len);
		bool file = name_len > 0 && name[0] == '/';
		struct proc_range r = { .start = start, .end = stop, .fd = -2 };
		int parsed = file ? proc_parse_file(q, name, name_len, &r) : 1;
		if (parsed < 0)
			return &remora_error_no_memory;
		if (readable && stop > start && (anon || file) && parsed) {
			if (proc->nranges == range_cap) {
				size_t ncap = range_cap ? range_cap * 2 : 64;
				struct proc_range *a =
					ncap > SIZE_MAX / sizeof(*a) ? NULL :
					realloc(proc->ranges, ncap * sizeof(*a));
				if (!a) {
					free(r.path);
					return &remora_error_no_memory;
				}
				proc->ranges = a;
				range_cap = ncap;
			}
			proc->ranges[proc->nranges++] = r;
		} else {
			free(r.path);
		}
		if (readable && stop > start &&
		    remora_reader_maps_usable(name, name_len)) {
			if (proc->nsegs == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct remora_segment *s =
					ncap > SIZE_MAX / sizeof(*s) ? NULL :
					realloc(proc->segs, ncap * sizeof(*s));
				if (!s)
					return &remora_error_no_memory;
				proc->segs = s;
				cap = ncap;
			}
			proc->segs[proc->nsegs++] = (struct remora_segment){
				.start = start,
				.end = stop,
				.read = proc_read_block,
				.arg = proc,
			};
		}
		p = eol + 1;
	}
	if (!remora_reader_sort(proc->segs, proc->nsegs))
		return remora_error_create(REMORA_ERROR_FORMAT,
					   "overlapping mappings in %s", path);
	qsort(proc->ranges, proc->nranges, sizeof(*proc->ranges), proc_range_cmp);
	return NULL;
}

/* An error opening something of /proc/PID, in words a user can act on. */
static struct remora_error *proc_open_error(int errnum, const char *path,
					    int pid)
{
	if (errnum == ENOENT || errnum == ESRCH)
		return remora_error_create_os(errnum, path,
					      "process %d does not exist (it exited, "
					      "or never did)", pid);
	if (errnum == EACCES || errnum == EPERM)
		return remora_error_create_os(errnum, path,
					      "not allowed to read the memory of "
					      "process %d (it needs ptrace access: "
					      "attach gdb to it, or run as root; "
					      "see /proc/sys/kernel/yama/ptrace_scope)",
					      pid);
	return remora_error_create_os(errnum, path,
				      "cannot read the memory of process %d", pid);
}

static struct remora_error *proc_load_maps(struct remora_proc *proc, int dirfd)
{
	char path[40];
	snprintf(path, sizeof(path), "/proc/%d/maps", proc->pid);
	int fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return proc_open_error(errno, path, proc->pid);
	char *text = NULL;
	size_t len = 0;
	struct remora_error *err = proc_slurp(fd, path, &text, &len);
	close(fd);
	if (err)
		return err;
	err = proc_parse_maps(proc, text, len, path);
	free(text);
	if (!err && proc->nsegs == 0)
		err = remora_error_create_os(ESRCH, path,
					     "process %d has no readable memory (it has "
					     "exited, or is a kernel thread)", proc->pid);
	return err;
}

/* ---- the cache ---- */

static size_t proc_set_index(const struct remora_proc *proc, uint64_t addr)
{
	return (size_t)(addr >> proc->block_shift) & (proc->nsets - 1);
}

/* The valid-mask bits of pages [first, last] of a block. */
static uint64_t proc_page_bits(unsigned int first, unsigned int last)
{
	uint64_t upto = last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
	return upto & ~((UINT64_C(1) << first) - 1);
}

static uint64_t proc_full_mask(const struct remora_proc *proc, uint32_t len)
{
	unsigned int pages = (unsigned int)((len + proc->page_size - 1) >>
					    proc->page_shift);
	return proc_page_bits(0, pages - 1);
}

/* The range holding [addr, addr + len), or NULL. */
static struct proc_range *proc_range_of(struct remora_proc *proc, uint64_t addr,
					size_t len)
{
	size_t lo = 0, hi = proc->nranges;
	while (lo < hi) {                 /* the last range starting <= addr */
		size_t mid = lo + (hi - lo) / 2;
		if (proc->ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr + len > proc->ranges[lo - 1].end)
		return NULL;
	return &proc->ranges[lo - 1];
}

/* The fd of a file range's file — the very file mapped: its
 * /proc/PID/map_files entry, else its path if device and inode are the
 * mapping's — or -1.  Only a regular file: reading a device has effects. */
static int proc_range_fd(struct remora_proc *proc, struct proc_range *r)
{
	if (r->fd != -2)
		return r->fd;
	r->fd = -1;
	char entry[80];
	snprintf(entry, sizeof(entry), "/proc/%d/map_files/%llx-%llx", proc->pid,
		 (unsigned long long)r->start, (unsigned long long)r->end);
	const char *names[] = { entry, r->path };
	for (size_t i = 0; i < 2; i++) {
		int fd = open(names[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_ino == r->inode && (uint64_t)st.st_dev == r->dev) {
			r->fd = fd;
			r->size = (uint64_t)st.st_size;
			break;
		}
		close(fd);
	}
	return r->fd;
}

/* Bit i set: page i of the pages from the page-aligned `start` (at most
 * 64, `len` bytes) is not present in the process and not swapped
 * (/proc/PID/pagemap bits 63 and 62): one it never touched, if r is
 * private anonymous memory, or whose file page it has not mapped.
 * Reading such a page through /proc/PID/mem would allocate it or map it
 * in the process (its resident size grows).  0 where that cannot be
 * known, or r's pages cannot be had otherwise: every page is then read
 * through /proc/PID/mem. */
static uint64_t proc_absent(struct remora_proc *proc, struct proc_range *r,
			    uint64_t start, size_t len)
{
	if (proc->pagemap_fd < 0 || len == 0 || !r || (r->path && proc_range_fd(proc, r) < 0))
		return 0;
	uint64_t entries[64];
	size_t pages = (len + proc->page_size - 1) >> proc->page_shift;
	if (pages > 64)
		pages = 64;
	ssize_t n;
	do {
		n = pread(proc->pagemap_fd, entries, pages * sizeof(entries[0]),
			  (off_t)((start >> proc->page_shift) * sizeof(entries[0])));
		proc->stats.pagemap_reads++;
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(pages * sizeof(entries[0])))
		return 0;
	uint64_t absent = 0;
	for (size_t i = 0; i < pages; i++) {
		if (!(entries[i] >> 62))
			absent |= UINT64_C(1) << i;
	}
	return absent;
}

/* Where the run of pages to read from page `pg` ends: at the next
 * absent page's first byte (an offset from the span's base), or at
 * `end`. */
static size_t proc_run_end(const struct remora_proc *proc, uint64_t absent,
			   unsigned int pg, size_t end)
{
	uint64_t later = pg >= 63 ? 0 : absent & ~proc_page_bits(0, pg);
	if (!later)
		return end;
	size_t at = (size_t)__builtin_ctzll(later) << proc->page_shift;
	return at < end ? at : end;
}

/* The bytes [from, to) (offsets from base, in one page) of an absent
 * page of r into out: zeros, or the file's bytes (zeros past its end
 * within the page, as a fault would map them).  False when the page
 * lies wholly past the file's end: the process could not read it. */
static bool proc_absent_page(struct remora_proc *proc, struct proc_range *r,
			     uint64_t base, size_t from, size_t to, uint8_t *out)
{
	memset(out, 0, to - from);
	if (!r->path) {
		proc->stats.zero_pages++;
		return true;
	}
	uint64_t at = r->offset + (base + from - r->start);
	uint64_t page_at = at - ((base + from) & (proc->page_size - 1));
	if (page_at >= r->size)
		return false;
	size_t want = to - from;
	if (at >= r->size)
		want = 0;
	else if (r->size - at < want)
		want = (size_t)(r->size - at);
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(r->fd, out + got, want - got, (off_t)(at + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	proc->stats.file_pages++;
	return true;
}

/* Reads [base + lead, base + end) into out (out[0] is base + lead; base
 * page-aligned, end at most 64 pages), through /proc/PID/mem but for
 * absent pages (proc_absent), and returns the page mask (from base) of
 * what was read: whole pages (the first from lead), and the last one
 * when it was read to end.
 * A page that cannot be read stays 0; the rest are still tried. */
static uint64_t proc_read_span(struct remora_proc *proc, uint64_t base, size_t lead,
			       size_t end, uint8_t *out)
{
	struct proc_range *r = proc_range_of(proc, base + lead, end - lead);
	uint64_t absent = proc_absent(proc, r, base, end);
	uint64_t valid = 0;
	size_t off = lead;
	while (off < end) {
		unsigned int pg = (unsigned int)(off >> proc->page_shift);
		if (absent >> pg & 1) {
			size_t next = ((size_t)pg + 1) << proc->page_shift;
			if (next > end)
				next = end;
			if (proc_absent_page(proc, r, base, off, next, out + (off - lead)))
				valid |= UINT64_C(1) << pg;
			off = next;
			continue;
		}
		size_t stop = proc_run_end(proc, absent, pg, end);
		ssize_t n = pread(proc->mem_fd, out + (off - lead), stop - off,
				  (off_t)(base + off));
		proc->stats.syscalls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			proc->stats.bytes_read += (uint64_t)n;
			size_t done = off + (size_t)n;
			/* whole pages only: a partly read page is not valid */
			unsigned int first = pg;
			unsigned int past = (unsigned int)(done >> proc->page_shift);
			if (done == end)
				past = (unsigned int)((done + proc->page_size - 1) >>
						      proc->page_shift);
			if (past > first)
				valid |= proc_page_bits(first, past - 1);
			off = done;
			continue;
		}
		/* n == 0: the address space is gone (the target exited): no
		 * later page can be read either. */
		if (n == 0 || (errno != EIO && errno != EFAULT))
			break;
		/* EIO: the page at off cannot be read; try the next one. */
		off = (off | (proc->page_size - 1)) + 1;
	}
	return valid;
}

/* Fills block b (b->len bytes at b->start) and sets b->valid. */
static void proc_fill(struct remora_proc *proc, struct proc_block *b)
{
	b->valid = proc_read_span(proc, b->start, 0, b->len, b->data);
	uint64_t full = proc_full_mask(proc, b->len);
	if (b->valid != full)
		proc->stats.bad_pages +=
			(uint64_t)__builtin_popcountll(full & ~b->valid);
}

/* The cached block holding addr (inside seg), filled if it was not; it
 * is then its set's way 0, and its set's window if fully readable. */
static struct proc_block *proc_block_get(struct remora_proc *proc,
					 const struct remora_segment *seg,
					 uint64_t addr)
{
	size_t index = proc_set_index(proc, addr);
	struct proc_block *set = &proc->blocks[index * proc->ways];
	struct remora_window *win = &proc->win[index];
	unsigned int way;
	for (way = 0; way < proc->ways; way++) {
		if (addr - set[way].start < set[way].len)
			break;
	}
	struct proc_block b;
	if (way < proc->ways) {
		proc->stats.hits++;
		if (way == 0)
			return set;
		b = set[way];
	} else {
		/* miss: the least recently used way gives its data slot */
		way = proc->ways - 1;
		b = set[way];
		if (b.len)
			proc->stats.evictions++;
		/* the window may show the victim (one way): empty it first */
		*win = (struct remora_window){ 0 };
		uint64_t base = addr & ~(uint64_t)(proc->block_size - 1);
		/* seg->end > addr >= base: no wrap */
		uint64_t room = seg->end - base;
		uint64_t len = room < proc->block_size ? room : proc->block_size;
		if (base < seg->start) {
			len -= seg->start - base;
			base = seg->start;
		}
		b.start = base;
		b.len = (uint32_t)len;
		proc->stats.misses++;
		proc_fill(proc, &b);
	}
	/* move to the front: ways 0..way-1 age by one */
	memmove(&set[1], &set[0], way * sizeof(*set));
	set[0] = b;
	if (b.valid == proc_full_mask(proc, b.len))
		*win = (struct remora_window){
			.start = b.start, .len = b.len, .host = b.data,
		};
	else
		*win = (struct remora_window){ 0 };
	return set;
}

/* A read larger than a block: straight into buf, not cached, by spans
 * of at most 64 pages (proc_read_span); a fault at the first byte that
 * could not be read. */
static bool proc_read_direct(struct remora_proc *proc, uint64_t addr,
			     uint8_t *out, size_t len)
{
	proc->stats.direct++;
	size_t done = 0;
	while (done < len) {
		uint64_t base = (addr + done) & ~(uint64_t)(proc->page_size - 1);
		size_t lead = (size_t)(addr + done - base);
		size_t span = (proc->page_size << 6) - lead;
		if (span > len - done)
			span = len - done;
		uint64_t valid = proc_read_span(proc, base, lead, lead + span, out + done);
		unsigned int first = (unsigned int)(lead >> proc->page_shift);
		unsigned int last = (unsigned int)((lead + span - 1) >> proc->page_shift);
		uint64_t want = proc_page_bits(first, last);
		if ((valid & want) != want) {
			uint64_t page = (uint64_t)__builtin_ctzll(want & ~valid) << proc->page_shift;
			remora_reader_fault(&proc->reader, base + (page > lead ? page : lead));
			return false;
		}
		done += span;
	}
	return true;
}

/* The segments' read callback (reader.h): addr and len lie inside seg. */
static bool proc_read_block(const struct remora_segment *seg, uint64_t addr,
			    void *buf, size_t len)
{
	struct remora_proc *proc = seg->arg;
	uint8_t *out = buf;
	if (len > proc->block_size)
		return proc_read_direct(proc, addr, out, len);
	while (len > 0) {
		struct proc_block *b = proc_block_get(proc, seg, addr);
		uint64_t off = addr - b->start;
		size_t n = b->len - off < len ? (size_t)(b->len - off) : len;
		unsigned int first = (unsigned int)(off >> proc->page_shift);
		unsigned int last = (unsigned int)((off + n - 1) >> proc->page_shift);
		uint64_t want = proc_page_bits(first, last);
		if ((b->valid & want) != want) {
			uint64_t bad = want & ~b->valid;
			uint64_t page = (uint64_t)__builtin_ctzll(bad) << proc->page_shift;
			remora_reader_fault(&proc->reader,
					    b->start + (page > off ? page : off));
			return false;
		}
		memcpy(out, b->data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return true;
}

/* ---- the handle ---- */

static struct remora_error *proc_geometry(struct remora_proc *proc,
					  const struct remora_proc_options *o)
{
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0 || (page & (page - 1)))
		page = 4096;
	proc->page_size = (size_t)page;
	proc->page_shift = (unsigned int)__builtin_ctzl((unsigned long)page);

	size_t block = o && o->block_size ? o->block_size : REMORA_PROC_BLOCK_DEFAULT;
	size_t cache = o && o->cache_size ? o->cache_size : REMORA_PROC_CACHE_DEFAULT;
	unsigned int ways = o && o->ways ? o->ways : REMORA_PROC_WAYS_DEFAULT;
	if (block < proc->page_size || (block & (block - 1)) ||
	    block / proc->page_size > 64 || block > UINT32_MAX)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "proc reader: block size %zu is not a power "
					   "of two from %zu to %zu bytes", block,
					   proc->page_size, proc->page_size * 64);
	if (ways > 1024 || cache / block / ways == 0)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "proc reader: a cache of %zu bytes cannot "
					   "hold %u ways of %zu-byte blocks",
					   cache, ways, block);
	size_t sets = cache / block / ways;
	/* round down to a power of two (set index = block number mod sets) */
	while (sets & (sets - 1))
		sets &= sets - 1;
	proc->block_size = block;
	proc->block_shift = (unsigned int)__builtin_ctzl((unsigned long)block);
	proc->ways = ways;
	proc->nsets = sets;
	proc->data_size = sets * ways * block;
	return NULL;
}

static struct remora_error *proc_make_cache(struct remora_proc *proc)
{
	size_t n = proc->nsets * proc->ways;
	proc->blocks = calloc(n, sizeof(*proc->blocks));
	proc->win = calloc(proc->nsets, sizeof(*proc->win));
	if (!proc->blocks || !proc->win)
		return &remora_error_no_memory;
	void *data = mmap(NULL, proc->data_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (data == MAP_FAILED)
		return &remora_error_no_memory;
	/* huge pages where the system allows: one page fault per 2 MiB of
	 * blocks filled instead of one per 4 KiB, and fewer TLB misses on
	 * hits (failure is harmless) */
	madvise(data, proc->data_size, MADV_HUGEPAGE);
	proc->data = data;
	/* slots way-major: the way-0 blocks of neighbouring sets (the
	 * common case: a heap in one range) are neighbours in memory too */
	for (size_t set = 0; set < proc->nsets; set++) {
		for (unsigned int way = 0; way < proc->ways; way++)
			proc->blocks[set * proc->ways + way].data = proc->data +
				((size_t)way * proc->nsets + set) * proc->block_size;
	}
	return NULL;
}

struct remora_error *remora_proc_open_with(int pid,
					   const struct remora_proc_options *options,
					   struct remora_proc **ret)
{
	struct remora_error *err;
	char dir[32], mem[40];
	int dirfd;
	*ret = NULL;
	if (pid <= 0)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "invalid process id %d", pid);
	struct remora_proc *proc = calloc(1, sizeof(*proc));
	if (!proc)
		return &remora_error_no_memory;
	proc->pid = pid;
	proc->mem_fd = -1;
	proc->pagemap_fd = -1;
	err = proc_geometry(proc, options);
	if (err)
		goto out_proc;

	/* maps and mem through one directory fd: both are this process's,
	 * even if the pid is reused in between */
	snprintf(dir, sizeof(dir), "/proc/%d", pid);
	snprintf(mem, sizeof(mem), "/proc/%d/mem", pid);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		err = proc_open_error(errno, dir, pid);
		goto out_proc;
	}
	proc->mem_fd = openat(dirfd, "mem", O_RDONLY | O_CLOEXEC);
	if (proc->mem_fd < 0) {
		err = proc_open_error(errno, mem, pid);
		goto out_dir;
	}
	/* without it (an old kernel, a sandbox), pages are read as before */
	proc->pagemap_fd = openat(dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
	err = proc_load_maps(proc, dirfd);
	if (err)
		goto out_dir;
	err = proc_make_cache(proc);
	if (err)
		goto out_dir;
	close(dirfd);
	remora_reader_init(&proc->reader, proc->segs, proc->nsegs);
	remora_reader_windows(&proc->reader, proc->win, proc->nsets,
			      proc->block_shift);
	*ret = proc;
	return NULL;

out_dir:
	close(dirfd);
out_proc:
	remora_proc_destroy(proc);
	return err;
}

struct remora_error *remora_proc_open(int pid, struct remora_proc **ret)
{
	return remora_proc_open_with(pid, NULL, ret);
}

struct remora_reader *remora_proc_reader(struct remora_proc *proc)
{
	return &proc->reader;
}

int remora_proc_pid(const struct remora_proc *proc)
{
	return proc->pid;
}

void remora_proc_stats(const struct remora_proc *proc,
		       struct remora_proc_stats *stats_ret)
{
	*stats_ret = proc->stats;
}

void remora_proc_destroy(struct remora_proc *proc)
{
	if (!proc)
		return;
	if (proc->data)
		munmap(proc->data, proc->data_size);
	free(proc->win);
	free(proc->blocks);
	free(proc->segs);
	for (size_t i = 0; i < proc->nranges; i++) {
		free(proc->ranges[i].path);
		if (proc->ranges[i].fd >= 0)
			close(proc->ranges[i].fd);
	}
	free(proc->ranges);
	if (proc->mem_fd >= 0)
		close(proc->mem_fd);
	if (proc->pagemap_fd >= 0)
		close(proc->pagemap_fd);
	free(proc);
}
