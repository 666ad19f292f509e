/* capture.c — the walk from outside: reader -> walker -> snapshot file.
 * Contract: capture.h.  The injected counterpart is agent.c; both end in
 * remora_walk() and the same snapshot writer, so a snapshot of one
 * stopped state is the same whichever way it was taken, except where the
 * walker documents what only tp_traverse can see (REMORA_NODE_MEMBERS).
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
					   const char *path,
					   struct remora_capture_stats *stats)
{
	struct remora_error *err = NULL;
	struct remora_layout *desc = NULL;
	void *buf = NULL;
	int fd = -1;

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

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = remora_error_create_os(errno, path, "cannot create the snapshot");
		goto out;
	}
	struct remora_writer writer;
	remora_writer_init(&writer, fd, buf, CAPTURE_BUFFER, desc->python_version);
	struct remora_walk_options options = { .self = false };
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
	if (status != REMORA_WALK_OK && status != REMORA_WALK_WRITE) {
		err = remora_error_create(REMORA_ERROR_OTHER, "capture failed: %s",
					  walk_status_text(status));
		unlink(path);
	} else if (werr) {
		err = remora_error_create_os(werr, path, "cannot write the snapshot");
		unlink(path);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(desc);
	return err;
}

struct remora_error *remora_capture_proc(int pid, const void *layout,
					 size_t layout_size, const char *path,
					 struct remora_capture_stats *stats)
{
	struct remora_proc *proc = NULL;
	memset(stats, 0, sizeof(*stats));
	struct remora_error *err = remora_proc_open(pid, &proc);
	if (err)
		return err;
	err = remora_capture_reader(remora_proc_reader(proc), layout, layout_size,
				    path, stats);
	struct remora_proc_stats ps;
	remora_proc_stats(proc, &ps);
	stats->reader_reads = ps.hits + ps.misses + ps.direct;
	stats->reader_syscalls = ps.syscalls;
	remora_proc_destroy(proc);
	return err;
}
