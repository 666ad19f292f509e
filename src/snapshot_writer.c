/* snapshot_writer.c — the streaming side of the snapshot format.
 * Format: snapshot_format.h.  Reader: snapshot.c.
 *
 * Runs inside the target: no allocator, no stdio, no locks.  EDGES and
 * ROOTS records are "runs": a head is written when the first entry comes
 * and its count is patched in the buffer when the run closes (another
 * record starts, or the buffer is flushed).  A run therefore never spans a
 * flush; a long edge list becomes several EDGES records in a row.
 */
#include "snapshot_writer.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "sys.h"

static int fd_sink_write(struct remora_sink *sink, const void *buf, size_t len)
{
	struct remora_fd_sink *s = (struct remora_fd_sink *)sink;
	const uint8_t *p = buf;
	while (len) {
		long r = remora_sys_write(s->fd, p, len);
		if (r == -EINTR)
			continue;
		if (remora_sys_failed(r))
			return (int)-r;
		if (r == 0)
			return EIO;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int fd_sink_patch(struct remora_sink *sink, uint64_t off, const void *buf,
			 size_t len)
{
	struct remora_fd_sink *s = (struct remora_fd_sink *)sink;
	for (;;) {
		long r = remora_sys_pwrite(s->fd, buf, len, (long)off);
		if (r == (long)len)
			return 0;
		if (r != -EINTR)
			return remora_sys_failed(r) ? (int)-r : EIO;
	}
}

void remora_fd_sink_init(struct remora_fd_sink *s, int fd)
{
	s->sink.write = fd_sink_write;
	s->sink.patch = fd_sink_patch;
	s->sink.next_buf = NULL;
	s->fd = fd;
}

static void writer_close_run(struct remora_writer *w)
{
	if (w->run_head == SIZE_MAX)
		return;
	size_t payload = w->len - w->run_head - sizeof(struct remora_rec_head);
	size_t entry = w->run_tag == REMORA_REC_ROOTS ? sizeof(struct remora_rec_root)
						     : sizeof(struct remora_rec_edge);
	uint32_t n = (uint32_t)(payload / entry);
	memcpy(w->buf + w->run_head + 4, &n, sizeof(n));
	w->run_head = SIZE_MAX;
}

static void writer_flush(struct remora_writer *w)
{
	writer_close_run(w);
	if (w->len && !w->errnum) {
		w->errnum = w->sink->write(w->sink, w->buf, w->len);
		if (!w->errnum)
			w->written += w->len;
		if (w->sink->next_buf)
			w->buf = w->sink->next_buf;
	}
	w->len = 0;
}

/* Makes room for need bytes; need is at most a record of bounded size. */
static int writer_reserve(struct remora_writer *w, size_t need)
{
	if (w->errnum)
		return -1;
	if (w->cap - w->len < need)
		writer_flush(w);
	return w->errnum ? -1 : 0;
}

static void writer_put(struct remora_writer *w, const void *p, size_t n)
{
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void writer_pad(struct remora_writer *w)
{
	while (w->len & 7)
		w->buf[w->len++] = 0;
}

static void writer_head(struct remora_writer *w, uint32_t tag, uint32_t n)
{
	struct remora_rec_head h = { .tag = tag, .n = n };
	writer_put(w, &h, sizeof(h));
}

void remora_writer_init(struct remora_writer *w, int fd, void *buf, size_t cap,
			uint32_t python_version)
{
	remora_writer_init_sink(w, NULL, buf, cap, python_version);
	remora_fd_sink_init(&w->fd_sink, fd);
	w->sink = &w->fd_sink.sink;
}

void remora_writer_init_sink(struct remora_writer *w, struct remora_sink *sink,
			     void *buf, size_t cap, uint32_t python_version)
{
	memset(w, 0, sizeof(*w));
	w->sink = sink;
	w->buf = buf;
	w->cap = cap & ~(size_t)7;
	w->run_head = SIZE_MAX;
	uint8_t header[REMORA_SNAPSHOT_HEADER_SIZE] = { 0 };
	uint32_t version = REMORA_SNAPSHOT_VERSION;
	uint32_t header_size = REMORA_SNAPSHOT_HEADER_SIZE;
	uint64_t ptr_size = 8;
	memcpy(header, REMORA_SNAPSHOT_MAGIC, 8);
	memcpy(header + 8, &version, 4);
	memcpy(header + 12, &header_size, 4);
	memcpy(header + 16, &python_version, 4);
	memcpy(header + 24, &ptr_size, 8);
	writer_put(w, header, sizeof(header));
}

void remora_writer_node(struct remora_writer *w,
			const struct remora_rec_node *node,
			const char *repr, size_t repr_len)
{
	if (repr_len > REMORA_NODE_REPR_MAX)
		repr_len = REMORA_NODE_REPR_MAX;
	uint32_t flags = node->flags & (UINT32_MAX >> REMORA_NODE_FLAGS_SHIFT);
	bool extra = flags & REMORA_NODE_INLINE_VALUES;
	writer_close_run(w);
	if (writer_reserve(w, sizeof(struct remora_rec_head) +
				      sizeof(struct remora_rec_node_fixed) + 8 +
				      repr_len + 8))
		return;
	writer_head(w, REMORA_REC_NODE,
		    remora_node_head_n(flags, (uint32_t)repr_len));
	struct remora_rec_node_fixed fixed = {
		.address = node->address,
		.type = node->type,
		.size = node->size,
	};
	writer_put(w, &fixed, sizeof(fixed));
	if (extra)
		writer_put(w, &node->extra, sizeof(node->extra));
	if (repr_len)
		writer_put(w, repr, repr_len);
	writer_pad(w);
	w->nodes++;
}

static void writer_run_entry(struct remora_writer *w, uint32_t tag,
			     const void *entry, size_t size)
{
	if (w->run_head != SIZE_MAX && w->run_tag != tag)
		writer_close_run(w);
	size_t need = size;
	if (w->run_head == SIZE_MAX)
		need += sizeof(struct remora_rec_head);
	if (w->errnum)
		return;
	if (w->cap - w->len < need) {
		writer_flush(w);
		if (w->errnum)
			return;
		need = sizeof(struct remora_rec_head) + size;
	}
	if (w->run_head == SIZE_MAX) {
		w->run_head = w->len;
		w->run_tag = tag;
		writer_head(w, tag, 0);
	}
	writer_put(w, entry, size);
}

void remora_writer_edge(struct remora_writer *w, uint64_t target, uint64_t via)
{
	struct remora_rec_edge e = { .target = target, .via = via };
	writer_run_entry(w, REMORA_REC_EDGES, &e, sizeof(e));
	w->edges++;
}

void remora_writer_root(struct remora_writer *w, uint64_t target, uint64_t via,
			uint64_t where)
{
	struct remora_rec_root r = { .target = target, .via = via, .where = where };
	writer_run_entry(w, REMORA_REC_ROOTS, &r, sizeof(r));
	w->roots++;
}

void remora_writer_thread(struct remora_writer *w,
			  const struct remora_rec_thread *thread)
{
	writer_close_run(w);
	if (writer_reserve(w, sizeof(struct remora_rec_head) + sizeof(*thread)))
		return;
	writer_head(w, REMORA_REC_THREAD, 0);
	writer_put(w, thread, sizeof(*thread));
}

void remora_writer_type(struct remora_writer *w, uint64_t address,
			uint64_t tp_flags, uint32_t shape, const char *name,
			size_t name_len, const char *module, size_t module_len)
{
	if (name_len > 65535)
		name_len = 65535;
	if (module_len > 65535)
		module_len = 65535;
	writer_close_run(w);
	if (writer_reserve(w, sizeof(struct remora_rec_head) +
				      sizeof(struct remora_rec_type) + name_len +
				      module_len + 8))
		return;
	struct remora_rec_type t = {
		.address = address,
		.flags = tp_flags,
		.shape = shape,
		.name_len = (uint16_t)name_len,
		.module_len = (uint16_t)module_len,
	};
	writer_head(w, REMORA_REC_TYPE, (uint32_t)(name_len + module_len));
	writer_put(w, &t, sizeof(t));
	writer_put(w, name, name_len);
	writer_put(w, module, module_len);
	writer_pad(w);
	w->types++;
}

int remora_writer_finish(struct remora_writer *w, uint32_t flags)
{
	writer_close_run(w);
	struct remora_rec_end end = {
		.node_count = w->nodes,
		.edge_count = w->edges,
		.type_count = w->types,
		.root_count = w->roots,
	};
	if (!writer_reserve(w, sizeof(struct remora_rec_head) + sizeof(end))) {
		writer_head(w, REMORA_REC_END, 0);
		writer_put(w, &end, sizeof(end));
	}
	writer_flush(w);
	w->flags = flags;
	if (!w->errnum && w->sink->patch)
		w->errnum = w->sink->patch(w->sink, REMORA_SNAPSHOT_FLAGS_OFFSET, &flags,
					   sizeof(flags));
	return w->errnum;
}
