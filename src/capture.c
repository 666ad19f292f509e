/* capture.c — the walk from outside: reader -> walker -> snapshot file;
 * and gdb's side of the injected capture: the in-memory file snapshots go
 * to, the agent's buffer drained into it, the target's segments listed
 * for the agent.  Contract: capture.h.  The injected counterpart is
 * agent.c; both end in remora_walk() and the same snapshot writer, so a
 * snapshot of one stopped state is the same whichever way it was taken,
 * except where the walker documents what only tp_traverse can see
 * (REMORA_NODE_MEMBERS).
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include "agent.h"
#include "error.h"
#include "layout.h"
#include "proc_reader.h"
#include "snapshot_writer.h"
#include "walker.h"

enum { CAPTURE_BUFFER = 1 << 20 };

static const char *walk_status_text(enum remora_walk_status s)
{
	switch (s) {
	case REMORA_WALK_OK:
		return "ok";
	case REMORA_WALK_NOMEM:
		return "out of memory for the walk";
	case REMORA_WALK_BAD_LAYOUT:
		return "the layout descriptor is incomplete for this interpreter";
	case REMORA_WALK_NO_RUNTIME:
		return "no interpreter found (_PyRuntime has no interpreters: "
		       "not initialized yet, or finalizing)";
	case REMORA_WALK_WRITE:
		return "writing the snapshot failed";
	}
	return "unknown walk status";
}

struct remora_error *remora_capture_reader(struct remora_reader *reader,
					   const void *layout, size_t layout_size,
					   int fd, struct remora_capture_stats *stats)
{
	struct remora_error *err = NULL;
	struct remora_layout *desc = NULL;
	void *buf = NULL;

	memset(stats, 0, sizeof(*stats));
	if (layout_size != sizeof(struct remora_layout))
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "layout descriptor of %zu bytes, expected %zu",
					   layout_size, sizeof(struct remora_layout));
	/* a private, aligned copy: the caller's bytes may be unaligned */
	desc = malloc(sizeof(*desc));
	buf = malloc(CAPTURE_BUFFER);
	if (!desc || !buf) {
		err = &remora_error_no_memory;
		goto out;
	}
	memcpy(desc, layout, sizeof(*desc));

	struct remora_writer writer;
	remora_writer_init(&writer, fd, buf, CAPTURE_BUFFER, desc->python_version);
	struct remora_walk_options options = { .self = false, .progress = &stats->nodes };
	struct remora_walk_stats ws;
	enum remora_walk_status status = remora_walk(reader, desc, &writer, &options, &ws);
	int werr = remora_writer_finish(&writer, ws.snapshot_flags);

	stats->nodes = ws.nodes;
	stats->edges = ws.edges;
	stats->roots = ws.roots;
	stats->types = ws.types;
	stats->bad_objects = ws.bad_objects;
	stats->read_faults = ws.read_faults;
	stats->peak_mapped = ws.peak_mapped;
	stats->bytes_written = writer.written;
	stats->snapshot_flags = ws.snapshot_flags;
	stats->partial_why = ws.partial_why;
	if (status != REMORA_WALK_OK && status != REMORA_WALK_WRITE)
		err = remora_error_create(REMORA_ERROR_OTHER, "capture failed: %s",
					  walk_status_text(status));
	else if (werr)
		err = remora_error_create_os(werr, "(snapshot)", "cannot write the snapshot");
out:
	free(buf);
	free(desc);
	return err;
}

struct remora_error *remora_capture_proc(int pid, const void *layout,
					 size_t layout_size, int fd,
					 struct remora_capture_stats *stats)
{
	struct remora_proc *proc = NULL;
	memset(stats, 0, sizeof(*stats));
	struct remora_error *err = remora_proc_open(pid, &proc);
	if (err)
		return err;
	err = remora_capture_reader(remora_proc_reader(proc), layout, layout_size,
				    fd, stats);
	struct remora_proc_stats ps;
	remora_proc_stats(proc, &ps);
	stats->reader_reads = ps.hits + ps.misses + ps.direct;
	stats->reader_syscalls = ps.syscalls;
	remora_proc_destroy(proc);
	return err;
}

/* ---- gdb's side of the injected capture -------------------------------- */

int remora_capture_sink_create(void)
{
	int fd = memfd_create("remora-snapshot", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---- the drainer: gdb copies the agent's slots while it walks ---------- */

struct remora_drainer {
	int pid;
	uint64_t ctl;
	int fd;
	uint64_t buf, slot_cap;
	uint8_t *copy;                   /* [slot_cap] */
	uint64_t drained;                /* slots copied and counted */
	pthread_mutex_t lock;            /* one copier at a time */
	pthread_t thread;
	bool running;
	volatile bool stop;
	struct remora_error *err;        /* the first, not yet returned */
	bool failed;
};

static bool drainer_read(struct remora_drainer *d, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	return process_vm_readv(d->pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static void drainer_fail(struct remora_drainer *d, struct remora_error *err)
{
	if (!d->failed)
		d->err = err;
	else
		remora_error_destroy(err);
	d->failed = true;
}

/* Copies the slots filled since the last call; the lock held. */
static void drainer_copy(struct remora_drainer *d)
{
	uint64_t yields;
	if (d->failed)
		return;
	if (!drainer_read(d, d->ctl + offsetof(struct remora_agent_ctl, yields), &yields,
			  sizeof(yields))) {
		drainer_fail(d, remora_error_create_os(errno ? errno : EIO, "process_vm_readv",
						       "cannot read the agent's state"));
		return;
	}
	while (d->drained < yields && !d->failed) {
		unsigned slot = (unsigned)(d->drained % REMORA_AGENT_SLOTS);
		uint64_t len;
		if (!drainer_read(d, d->ctl + offsetof(struct remora_agent_ctl, slot_len) +
					     slot * sizeof(uint64_t), &len, sizeof(len)) ||
		    len > d->slot_cap ||
		    !drainer_read(d, d->buf + slot * d->slot_cap, d->copy, (size_t)len)) {
			drainer_fail(d, remora_error_create(REMORA_ERROR_OTHER,
							    "cannot read the agent's slot %u", slot));
			return;
		}
		for (size_t off = 0; off < len;) {
			ssize_t w = write(d->fd, d->copy + off, (size_t)len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				drainer_fail(d, remora_error_create_os(w < 0 ? errno : EIO,
								       "(snapshot)",
								       "cannot write the snapshot"));
				return;
			}
			off += (size_t)w;
		}
		d->drained++;
		struct iovec local = { .iov_base = &d->drained, .iov_len = sizeof(d->drained) };
		struct iovec remote = {
			.iov_base = (void *)(uintptr_t)(d->ctl +
							offsetof(struct remora_agent_ctl, drained)),
			.iov_len = sizeof(d->drained),
		};
		if (process_vm_writev(d->pid, &local, 1, &remote, 1, 0) != sizeof(d->drained))
			drainer_fail(d, remora_error_create_os(errno ? errno : EIO,
							       "process_vm_writev",
							       "cannot count a drained slot"));
	}
}

static void *drainer_main(void *arg)
{
	struct remora_drainer *d = arg;
	const struct timespec nap = { .tv_sec = 0, .tv_nsec = 100000 };
	while (!d->stop) {
		pthread_mutex_lock(&d->lock);
		uint64_t before = d->drained;
		drainer_copy(d);
		bool idle = d->drained == before;
		bool failed = d->failed;
		pthread_mutex_unlock(&d->lock);
		if (failed)
			break;
		if (idle)
			nanosleep(&nap, NULL);
	}
	return NULL;
}

struct remora_error *remora_drainer_start(int pid, uint64_t ctl, int fd,
					  struct remora_drainer **ret)
{
	*ret = NULL;
	struct remora_drainer *d = calloc(1, sizeof(*d));
	if (!d)
		return &remora_error_no_memory;
	d->pid = pid;
	d->ctl = ctl;
	d->fd = fd;
	uint64_t buf[2];
	if (!drainer_read(d, ctl + offsetof(struct remora_agent_ctl, buf), buf, sizeof(buf))) {
		free(d);
		return remora_error_create_os(errno ? errno : EIO, "process_vm_readv",
					      "cannot read the agent's control block");
	}
	d->buf = buf[0];
	d->slot_cap = buf[1] / REMORA_AGENT_SLOTS;
	d->copy = malloc(d->slot_cap ? (size_t)d->slot_cap : 1);
	if (!d->copy) {
		free(d);
		return &remora_error_no_memory;
	}
	pthread_mutex_init(&d->lock, NULL);
	int e = pthread_create(&d->thread, NULL, drainer_main, d);
	if (e) {
		pthread_mutex_destroy(&d->lock);
		free(d->copy);
		free(d);
		return remora_error_create_os(e, "pthread_create", "cannot start the drainer");
	}
	d->running = true;
	*ret = d;
	return NULL;
}

struct remora_error *remora_drainer_sync(struct remora_drainer *d, uint64_t *drained)
{
	pthread_mutex_lock(&d->lock);
	drainer_copy(d);
	*drained = d->drained;
	struct remora_error *err = d->err;
	d->err = NULL;
	pthread_mutex_unlock(&d->lock);
	return err;
}

struct remora_error *remora_drainer_stop(struct remora_drainer *d)
{
	if (!d)
		return NULL;
	d->stop = true;
	if (d->running)
		pthread_join(d->thread, NULL);
	struct remora_error *err = d->err;
	pthread_mutex_destroy(&d->lock);
	free(d->copy);
	free(d);
	return err;
}

struct remora_error *remora_capture_patch_flags(int fd, uint32_t flags)
{
	for (;;) {
		ssize_t r = pwrite(fd, &flags, sizeof(flags), REMORA_SNAPSHOT_FLAGS_OFFSET);
		if (r == (ssize_t)sizeof(flags))
			return NULL;
		if (r < 0 && errno == EINTR)
			continue;
		return remora_error_create_os(r < 0 ? errno : EIO, "(snapshot)",
					      "cannot write the snapshot's header");
	}
}

const char *remora_partial_text(uint32_t why)
{
	static const char *const text[REMORA_PARTIAL_COUNT] = {
		[REMORA_PARTIAL_REF] = "a reference points outside the process's memory",
		[REMORA_PARTIAL_READ] = "an array of references could not be read",
		[REMORA_PARTIAL_DICT] = "a dict's table is damaged",
		[REMORA_PARTIAL_SET] = "a set's table is damaged",
		[REMORA_PARTIAL_TRAVERSE] = "an extension object could not be traversed",
		[REMORA_PARTIAL_DEQUE] = "a deque's blocks are damaged",
		[REMORA_PARTIAL_VALUES] = "an instance's inline attribute values are damaged",
		[REMORA_PARTIAL_NOT_OBJECT] = "an address reached is not an object",
		[REMORA_PARTIAL_SIZE] = "an object is larger than the memory it lies in",
		[REMORA_PARTIAL_ITEMS] = "a list's or tuple's items are damaged",
		[REMORA_PARTIAL_FRAME] = "a thread's frame chain is damaged",
		[REMORA_PARTIAL_EXC] = "a thread's exception states are damaged",
		[REMORA_PARTIAL_GC_LIST] = "a GC list is damaged",
		[REMORA_PARTIAL_THREADS] = "an interpreter's thread list is damaged",
		[REMORA_PARTIAL_INTERPS] = "the interpreter list is damaged",
		[REMORA_PARTIAL_HEAP] = "a mimalloc heap's pages are damaged",
		[REMORA_PARTIAL_ARENAS] = "exited threads' objects in mimalloc's arenas were not "
					  "read (no mi_arenas symbol: install the debug symbols)",
	};
	return why < REMORA_PARTIAL_COUNT ? text[why] : NULL;
}

struct remora_error *remora_capture_segments(int pid, uint64_t *out, size_t cap,
					     size_t *count)
{
	struct remora_proc *proc = NULL;
	*count = 0;
	struct remora_error *err = remora_proc_open(pid, &proc);
	if (err)
		return err;
	const struct remora_reader *r = remora_proc_reader(proc);
	if (r->count > cap) {
		err = remora_error_create(REMORA_ERROR_OTHER,
					  "the process has %zu mappings, more than %zu",
					  r->count, cap);
	} else {
		for (size_t i = 0; i < r->count; i++) {
			out[2 * i] = r->segs[i].start;
			out[2 * i + 1] = r->segs[i].end;
		}
		*count = r->count;
	}
	remora_proc_destroy(proc);
	return err;
}

enum { FIND_CHUNK = 1 << 20 };    /* bytes read at a time */

uint64_t remora_capture_find(int pid, uint64_t start, uint64_t end, const void *pattern,
			     size_t len)
{
	if (!len || len > 64 || end < start)
		return 0;
	uint8_t *buf = malloc(FIND_CHUNK + 64);
	if (!buf)
		return 0;
	uint64_t found = 0;
	/* chunks overlap by len - 1 bytes, so no match straddles two unseen */
	for (uint64_t at = start; at < end && !found; at += FIND_CHUNK) {
		size_t n = end - at < FIND_CHUNK + len - 1 ? (size_t)(end - at)
							   : FIND_CHUNK + len - 1;
		struct iovec local = { .iov_base = buf, .iov_len = n };
		struct iovec remote = { .iov_base = (void *)(uintptr_t)at, .iov_len = n };
		ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (r < (ssize_t)len)
			break;
		uint8_t *hit = memmem(buf, (size_t)r, pattern, len);
		if (hit)
			found = at + (uint64_t)(hit - buf);
	}
	free(buf);
	return found;
}
