/* snapshot_writer.h — streams a snapshot (snapshot_format.h) through a
 * caller-supplied buffer to a sink: a file descriptor, or whatever takes
 * the buffer when it is full (the agent hands it to gdb).
 *
 * Invariants: calls no allocator, no libc and takes no lock (it runs
 * inside the target, DESIGN.md invariant 2); its only system calls are
 * the fd sink's raw write() and pwrite() (sys.h).  After the first failed
 * write every call is a no-op and remora_writer_finish() reports the
 * errno.
 */
#ifndef REMORA_SNAPSHOT_WRITER_H
#define REMORA_SNAPSHOT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot_format.h"

/* Where full buffers go.  Both return 0 or an errno value. */
struct remora_sink {
	/* takes buf[0 .. len); the buffer is reused once this returns,
	 * unless write() set next_buf: the writer fills that one next (of
	 * the same capacity) */
	int (*write)(struct remora_sink *sink, const void *buf, size_t len);
	/* overwrites len bytes at offset off of what write() took; NULL:
	 * the sink cannot, and the caller patches the header itself */
	int (*patch)(struct remora_sink *sink, uint64_t off, const void *buf,
		     size_t len);
	void *next_buf;
};

/* A sink writing to a file descriptor (raw system calls). */
struct remora_fd_sink {
	struct remora_sink sink;
	int fd;
};

void remora_fd_sink_init(struct remora_fd_sink *s, int fd);

/* Where the header's flags word lies, for sinks that cannot patch. */
enum { REMORA_SNAPSHOT_FLAGS_OFFSET = 20 };

struct remora_writer {
	struct remora_sink *sink;
	struct remora_fd_sink fd_sink;  /* the sink of remora_writer_init() */
	uint8_t *buf;        /* caller's memory, valid until finish */
	size_t cap;          /* multiple of 8, at least 64 KiB */
	size_t len;          /* bytes buffered */
	size_t run_head;     /* offset of the open EDGES/ROOTS head, or SIZE_MAX */
	uint32_t run_tag;    /* tag of the open run */
	int errnum;          /* first write error, 0 if none */
	uint64_t written;    /* bytes the sink took so far */
	uint64_t nodes, edges, types, roots;
	uint32_t flags;      /* REMORA_SNAP_* for the header */
};

/* Writes the header, for fd.  buf must stay valid until
 * remora_writer_finish(). */
void remora_writer_init(struct remora_writer *w, int fd, void *buf, size_t cap,
			uint32_t python_version);
/* The same for any sink, which must outlive the writer. */
void remora_writer_init_sink(struct remora_writer *w, struct remora_sink *sink,
			     void *buf, size_t cap, uint32_t python_version);

/* A NODE record: node->extra is written only if node->flags has
 * REMORA_NODE_INLINE_VALUES; flags above bit 23 and repr bytes past 255
 * are dropped. */
void remora_writer_node(struct remora_writer *w,
			const struct remora_rec_node *node,
			const char *repr, size_t repr_len);

/* An edge of the node written last. */
void remora_writer_edge(struct remora_writer *w, uint64_t target, uint64_t via);

/* A root; where as remora_root_where() makes it. */
void remora_writer_root(struct remora_writer *w, uint64_t target, uint64_t via,
			uint64_t where);

/* A THREAD record. */
void remora_writer_thread(struct remora_writer *w,
			  const struct remora_rec_thread *thread);

/* A TYPE record; shape as snapshot_format.h says (0: not known). */
void remora_writer_type(struct remora_writer *w, uint64_t address,
			uint64_t tp_flags, uint32_t shape, const char *name,
			size_t name_len, const char *module, size_t module_len);

/* Writes END, flushes, and patches the header flags (when the sink can:
 * else the caller writes flags at REMORA_SNAPSHOT_FLAGS_OFFSET).  Returns
 * 0 or an errno value (the first write error, ENOSPC included). */
int remora_writer_finish(struct remora_writer *w, uint32_t flags);

#endif
