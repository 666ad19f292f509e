/* reader.h — the memory reader: every byte of target memory the walker
 * reads comes through here, validated against a map of address segments,
 * so a bad pointer is a failed read, never a fault (DESIGN.md, Readers).
 *
 * A reader is a sorted array of non-overlapping segments [start, end).  A
 * segment either has host bytes (`host`: the segment's bytes are at
 * host[0 .. end-start), e.g. the agent's own memory or a mapped core
 * file) or a read callback (bytes fetched on demand, e.g. /proc/PID/mem).
 * A read succeeds only if every byte lies in segments; otherwise it fails
 * and records the first faulting address.
 *
 * The reader owns no memory: the caller provides the segment array and
 * keeps it alive (the agent cannot allocate).  Lookups cache the last
 * segment hit, so reads are O(1) when they stay local and O(log n) else.
 *
 * Windows: the owner of callback segments that keeps target bytes in host
 * memory (the proc reader's block cache, proc_reader.h) may publish them
 * in a table of windows (remora_reader_windows()); remora_reader_read()
 * then serves a read inside the window its address indexes inline, as it
 * serves host segments, and only falls back to the callback on a miss.
 * Invariant: a non-empty window holds the target's bytes of [start,
 * start + len), all inside one segment; the owner empties it before it
 * changes or frees those bytes.  Readers with host segments only (the
 * agent, the core reader) have no table: their lookups find one static
 * empty window, a few instructions on their slow path only.
 */
#ifndef REMORA_READER_H
#define REMORA_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct remora_segment;

/* Copies len bytes at address addr (inside seg) into buf.  Returns true on
 * success.  On failure the reader records a fault at addr, unless the
 * callback recorded a more precise one with remora_reader_fault() (a
 * callback reaches its reader through seg->arg, if its owner wants). */
typedef bool remora_segment_read_fn(const struct remora_segment *seg,
				    uint64_t addr, void *buf, size_t len);

/* Host bytes holding the target's [start, start + len); len 0: empty. */
struct remora_window {
	uint64_t start;
	uint64_t len;
	const uint8_t *host;
};

struct remora_segment {
	uint64_t start;
	uint64_t end;                  /* exclusive */
	const uint8_t *host;           /* NULL: use read */
	remora_segment_read_fn *read;
	void *arg;
	uint64_t user;                 /* owner's use (the walker: bitmap base) */
};

enum { REMORA_READER_CACHE = 256, REMORA_READER_CACHE_SHIFT = 20 };

struct remora_reader {
	struct remora_segment *segs;   /* sorted by start; not owned */
	size_t count;
	size_t last;                   /* index of the last segment hit */
	/* segment index + 1 of the last hit in each 1 MiB chunk (by chunk
	 * number modulo the size), 0 if none: most lookups skip the
	 * binary search */
	uint32_t cache[REMORA_READER_CACHE];
	/* windows (see the top of this file): addr's is
	 * win[(addr >> win_shift) & win_mask]; never NULL */
	const struct remora_window *win;
	uint64_t win_mask;
	unsigned int win_shift;
	uint64_t fault_address;        /* first address of the last failure */
	uint64_t faults;               /* number of failed reads */
};

/* segs must be sorted by start and not overlap (remora_reader_sort() can
 * sort them); it must outlive the reader. */
void remora_reader_init(struct remora_reader *r, struct remora_segment *segs,
			size_t count);

/* Sorts segs by start and merges nothing; returns false if two overlap. */
bool remora_reader_sort(struct remora_segment *segs, size_t count);

/* The segment containing addr, or NULL. */
const struct remora_segment *remora_reader_find(struct remora_reader *r,
						uint64_t addr);

/* Reads len bytes at addr.  On failure returns false and sets
 * r->fault_address. */
bool remora_reader_read_slow(struct remora_reader *r, uint64_t addr,
			     void *buf, size_t len);

/* The walker's hot path: a read inside the last segment hit, when that
 * segment has host bytes, is one bounds check and a memcpy; so is a read
 * inside the window its address indexes.  Everything else takes the slow
 * path. */
static inline bool remora_reader_read(struct remora_reader *r, uint64_t addr,
				      void *buf, size_t len)
{
	if (r->count) {
		const struct remora_segment *s = &r->segs[r->last];
		if (s->host && addr >= s->start && addr < s->end &&
		    s->end - addr >= len) {
			__builtin_memcpy(buf, s->host + (addr - s->start), len);
			return true;
		}
	}
	const struct remora_window *w =
		&r->win[(addr >> r->win_shift) & r->win_mask];
	/* below the window, addr - start wraps past len */
	uint64_t off = addr - w->start;
	if (off < w->len && w->len - off >= len) {
		__builtin_memcpy(buf, w->host + off, len);
		return true;
	}
	return remora_reader_read_slow(r, addr, buf, len);
}

/* Installs a table of windows (count a power of two; table[i] serves
 * addresses with (addr >> shift) & (count - 1) == i) that the caller owns,
 * keeps to the invariant at the top of this file, and keeps alive as long
 * as the reader.  remora_reader_init() removes it. */
void remora_reader_windows(struct remora_reader *r,
			   const struct remora_window *table, size_t count,
			   unsigned int shift);

/* Records a failed read whose first unreadable byte is addr.  For read
 * callbacks that know exactly where their range stopped being readable;
 * call it just before returning false. */
void remora_reader_fault(struct remora_reader *r, uint64_t addr);

/* Whether a mapping with this path (the sixth field of a /proc/PID/maps
 * line, len bytes, not NUL-terminated) may be read without side effects
 * or faults: not the kernel's [vvar*] or [vsyscall] pages, not a device
 * other than /dev/zero. */
bool remora_reader_maps_usable(const char *path, size_t len);

/* A host pointer to len readable bytes at addr when they lie in one
 * host-backed segment, else NULL (no fault is recorded: callers fall back
 * to remora_reader_read).  Valid while the segment's host memory is. */
const void *remora_reader_direct(struct remora_reader *r, uint64_t addr,
				 size_t len);

/* Whether every byte of [addr, addr+len) lies in host-backed segments
 * (adjacent segments may share the range).  Records no fault. */
bool remora_reader_host_range(struct remora_reader *r, uint64_t addr,
			      size_t len);

static inline bool remora_reader_u64(struct remora_reader *r, uint64_t addr,
				     uint64_t *out)
{
	return remora_reader_read(r, addr, out, sizeof(*out));
}

#endif
