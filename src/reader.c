/* reader.c — segment lookup and validated reads.  Interface and
 * invariants: reader.h.  Used inside the target by the agent, so it calls
 * no allocator and keeps no state outside struct remora_reader.
 */
#include "reader.h"

#include <string.h>

void remora_reader_init(struct remora_reader *r, struct remora_segment *segs,
			size_t count)
{
	r->segs = segs;
	r->count = count;
	r->last = 0;
	r->fault_address = 0;
	r->faults = 0;
	memset(r->cache, 0, sizeof(r->cache));
	remora_reader_windows(r, NULL, 0, 0);
}

/* The table of readers that have none: one window, empty. */
static const struct remora_window no_window;

void remora_reader_windows(struct remora_reader *r,
			   const struct remora_window *table, size_t count,
			   unsigned int shift)
{
	if (!table || count == 0) {
		table = &no_window;
		count = 1;
		shift = 0;
	}
	r->win = table;
	r->win_mask = count - 1;
	r->win_shift = shift;
}

void remora_reader_fault(struct remora_reader *r, uint64_t addr)
{
	r->fault_address = addr;
	r->faults++;
}

bool remora_reader_maps_usable(const char *path, size_t len)
{
	/* "[vvar" also covers [vvar_vclock] (Linux 6.13+) */
	if (len >= 5 && memcmp(path, "[vvar", 5) == 0)
		return false;
	if (len >= 10 && memcmp(path, "[vsyscall]", 10) == 0)
		return false;
	/* device memory may have side effects on read; /dev/zero and
	 * /dev/shm (plain shared memory) do not */
	if (len >= 5 && memcmp(path, "/dev/", 5) == 0 &&
	    !(len >= 9 && memcmp(path, "/dev/zero", 9) == 0) &&
	    !(len >= 9 && memcmp(path, "/dev/shm/", 9) == 0))
		return false;
	return true;
}

bool remora_reader_sort(struct remora_segment *segs, size_t count)
{
	/* Insertion sort: segment lists are short (hundreds), and this runs
	 * where qsort's allocation-free guarantee is not worth relying on. */
	for (size_t i = 1; i < count; i++) {
		struct remora_segment s = segs[i];
		size_t j = i;
		while (j > 0 && segs[j - 1].start > s.start) {
			segs[j] = segs[j - 1];
			j--;
		}
		segs[j] = s;
	}
	for (size_t i = 0; i + 1 < count; i++) {
		if (segs[i].end > segs[i + 1].start)
			return false;
	}
	return true;
}

const struct remora_segment *remora_reader_find(struct remora_reader *r,
						uint64_t addr)
{
	if (r->count == 0)
		return NULL;
	const struct remora_segment *s = &r->segs[r->last];
	if (addr >= s->start && addr < s->end)
		return s;
	uint32_t *slot = &r->cache[(addr >> REMORA_READER_CACHE_SHIFT) %
				   REMORA_READER_CACHE];
	if (*slot) {
		s = &r->segs[*slot - 1];
		if (addr >= s->start && addr < s->end) {
			r->last = *slot - 1;
			return s;
		}
	}
	size_t lo = 0, hi = r->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->segs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->count || addr < r->segs[lo].start)
		return NULL;
	r->last = lo;
	*slot = (uint32_t)(lo + 1);
	return &r->segs[lo];
}

const void *remora_reader_direct(struct remora_reader *r, uint64_t addr,
				 size_t len)
{
	const struct remora_segment *s = remora_reader_find(r, addr);
	if (!s || !s->host || s->end - addr < len)
		return NULL;
	return s->host + (addr - s->start);
}

bool remora_reader_read_slow(struct remora_reader *r, uint64_t addr,
			     void *buf, size_t len)
{
	uint8_t *out = buf;
	while (len > 0) {
		const struct remora_segment *s = remora_reader_find(r, addr);
		if (!s) {
			r->fault_address = addr;
			r->faults++;
			return false;
		}
		uint64_t avail = s->end - addr;
		size_t n = avail < len ? (size_t)avail : len;
		if (s->host) {
			memcpy(out, s->host + (addr - s->start), n);
		} else {
			uint64_t before = r->faults;
			if (!s->read || !s->read(s, addr, out, n)) {
				/* unless the callback said where exactly */
				if (r->faults == before)
					remora_reader_fault(r, addr);
				return false;
			}
		}
		out += n;
		addr += n;
		len -= n;
	}
	return true;
}

bool remora_reader_host_range(struct remora_reader *r, uint64_t addr,
			      size_t len)
{
	while (len > 0) {
		const struct remora_segment *s = remora_reader_find(r, addr);
		if (!s || !s->host)
			return false;
		uint64_t avail = s->end - addr;
		if (avail >= len)
			return true;
		addr += avail;
		len -= (size_t)avail;
	}
	return true;
}
