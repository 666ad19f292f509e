/* proc_reader.h — a memory reader over a live process seen from outside
 * (/proc/PID/maps + /proc/PID/mem, through a block cache), for walking a
 * stopped target without injecting anything (py-heap -no-inject).
 *
 * Invariants:
 *  1. Segments are the target's readable mappings when it was opened,
 *     sorted, minus what remora_reader_maps_usable() rejects; every byte the
 *     reader returns was read from /proc/PID/mem, but for the pages
 *     /proc/PID/pagemap shows neither present nor swapped: reading them
 *     through /proc/PID/mem would allocate or map them in the target
 *     (its resident size grows).  Of private anonymous memory such a page
 *     was never touched: zeros; of a regular file's mapping, it is read
 *     from the very file mapped (/proc/PID/map_files), as a fault would.
 *  2. A byte that could not be read is a fault at its own address, never a
 *     zero: failed and short reads are remembered per page, so a cached
 *     block may be partly readable.
 *  3. Nothing is written to the target, and it is read only through the
 *     /proc/PID/mem file opened by remora_proc_open(): if the target exits
 *     and its pid is reused, reads fail instead of reading the newcomer.
 *  4. Cached bytes are never refreshed: a handle describes one stopped
 *     state.  When the target has run since, destroy it and open another.
 *
 * Cache (proc_reader.c draws it): fixed-size blocks aligned to the block
 * size and clipped to their segment, set-associative by block number,
 * least recently used replaced, each filled by one pread() on
 * /proc/PID/mem.  Each set's most recently used block is one of the
 * reader's windows (reader.h), so most small reads never leave
 * remora_reader_read()'s inline path.  Reads larger than a block bypass
 * the cache.
 *
 * Not thread-safe.  Permission: opening /proc/PID/mem needs ptrace access
 * to the target (its tracer, e.g. gdb; an ancestor or declared tracer
 * under Yama; or CAP_SYS_PTRACE); the target need not be stopped, but
 * then the bytes are torn.
 */
#ifndef REMORA_PROC_READER_H
#define REMORA_PROC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "reader.h"

struct remora_proc;

struct remora_proc_options {
	/* bytes per block: a power of two from the page size up to 64
	 * pages; 0: REMORA_PROC_BLOCK_DEFAULT */
	size_t block_size;
	/* bytes of cache, rounded down to whole sets (at least one); 0:
	 * REMORA_PROC_CACHE_DEFAULT.  Reserved as address space up front;
	 * memory is used only by blocks actually filled. */
	size_t cache_size;
	/* blocks per set (1: direct-mapped); 0: REMORA_PROC_WAYS_DEFAULT */
	unsigned int ways;
};

enum {
	REMORA_PROC_BLOCK_DEFAULT = 64 << 10,
	REMORA_PROC_WAYS_DEFAULT = 8,
};
static const size_t REMORA_PROC_CACHE_DEFAULT = (size_t)256 << 20;

/* Counters since remora_proc_open().  Reads the reader serves from its
 * windows (reader.h) never reach the cache's code and are not counted. */
struct remora_proc_stats {
	uint64_t hits;        /* block lookups served from the cache */
	uint64_t misses;      /* blocks filled (each one or more syscalls) */
	uint64_t evictions;   /* filled blocks replaced by others */
	uint64_t direct;      /* reads larger than a block, not cached */
	uint64_t syscalls;    /* pread() calls on /proc/PID/mem */
	uint64_t bytes_read;  /* bytes those calls returned */
	uint64_t bad_pages;   /* pages that could not be read */
	uint64_t pagemap_reads; /* pread() calls on /proc/PID/pagemap */
	uint64_t zero_pages;  /* anonymous pages never touched: zeros, not read */
	uint64_t file_pages;  /* file pages not mapped: read from the file */
};

/* Opens process pid: reads its maps, opens its memory, and makes the
 * cache.  Errors: REMORA_ERROR_INVALID_ARGUMENT (pid <= 0, bad options),
 * REMORA_ERROR_OS with errno and path (ENOENT: no such process; EACCES or
 * EPERM: no ptrace access; ESRCH: the process has no memory left, a zombie
 * or kernel thread), REMORA_ERROR_FORMAT (unparsable maps),
 * REMORA_ERROR_NO_MEMORY. */
struct remora_error *remora_proc_open(int pid, struct remora_proc **ret);

/* As remora_proc_open(), with cache geometry (options may be NULL). */
struct remora_error *remora_proc_open_with(int pid,
					   const struct remora_proc_options *options,
					   struct remora_proc **ret);

/* The reader over the target's memory: valid until remora_proc_destroy().
 * Its segments' read callbacks and `arg` belong to this handle (the
 * walker may use `user`); do not build another reader over them. */
struct remora_reader *remora_proc_reader(struct remora_proc *proc);

int remora_proc_pid(const struct remora_proc *proc);

void remora_proc_stats(const struct remora_proc *proc,
		       struct remora_proc_stats *stats_ret);

/* Closes the target's memory and frees the cache; NULL does nothing. */
void remora_proc_destroy(struct remora_proc *proc);

#endif
