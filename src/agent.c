/* agent.c — the injected capture: maps of this process -> reader ->
 * walker -> snapshot file.  Contract and invariants: agent.h.
 *
 * Memory: everything comes from mmap (MAP_NORESERVE, so untouched pages
 * cost nothing) and goes back with munmap before returning; the snapshot
 * is streamed through a 1 MiB buffer.  No libc: system calls are raw
 * (sys.h) and the memory primitives are the agent's own (agent_mem.c);
 * tests check that the built agent imports nothing at all.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "reader.h"
#include "snapshot_writer.h"
#include "sys.h"
#include "walker.h"

enum {
	MAPS_BUF = 8 << 20,          /* reserved for /proc/self/maps text */
	SEGS_MAX = 1 << 16,
	WRITE_BUF = 1 << 20,
};

static void *agent_map(size_t bytes)
{
	long r = remora_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return remora_sys_failed(r) ? NULL : (void *)r;
}

static uint64_t parse_hex(const char **p, const char *end)
{
	uint64_t v = 0;
	while (*p < end) {
		char c = **p;
		unsigned int d;
		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else
			break;
		v = v * 16 + d;
		(*p)++;
	}
	return v;
}

/* Reads /proc/self/maps into buf and fills segs with the readable
 * mappings.  Returns the number of segments, or -errno. */
static long agent_segments(char *buf, size_t cap, struct remora_segment *segs,
			   size_t max)
{
	long fd = remora_sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (remora_sys_failed(fd))
		return fd;
	size_t len = 0;
	for (;;) {
		if (len == cap) {
			remora_sys_close((int)fd);
			return -EOVERFLOW;
		}
		long r = remora_sys_read((int)fd, buf + len, cap - len);
		if (r == -EINTR)
			continue;
		if (remora_sys_failed(r)) {
			remora_sys_close((int)fd);
			return r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	remora_sys_close((int)fd);

	size_t n = 0;
	const char *p = buf, *end = buf + len;
	while (p < end && n < max) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *q = p;
		uint64_t start = parse_hex(&q, eol);
		if (q < eol && *q == '-')
			q++;
		uint64_t stop = parse_hex(&q, eol);
		if (q < eol && *q == ' ')
			q++;
		int readable = q < eol && *q == 'r';
		/* the path is the sixth field */
		const char *path = q;
		for (int field = 0; field < 4 && path < eol; field++) {
			while (path < eol && *path != ' ')
				path++;
			while (path < eol && *path == ' ')
				path++;
		}
		if (readable && stop > start &&
		    remora_reader_maps_usable(path, (size_t)(eol - path))) {
			segs[n] = (struct remora_segment){
				.start = start,
				.end = stop,
				.host = (const uint8_t *)(uintptr_t)start,
			};
			n++;
		}
		p = eol + 1;
	}
	return (long)n;
}

int remora_agent_capture(const struct remora_agent_args *args,
			 struct remora_agent_result *result)
{
	memset(result, 0, sizeof(*result));
	if (args->abi != REMORA_AGENT_ABI || args->args_size != sizeof(*args) ||
	    memchr(args->path, 0, sizeof(args->path)) == NULL) {
		result->status = REMORA_AGENT_BAD_ARGS;
		return result->status;
	}

	char *maps = NULL;
	struct remora_segment *segs = NULL;
	void *wbuf = NULL;
	int fd = -1;

	maps = agent_map(MAPS_BUF);
	segs = agent_map(SEGS_MAX * sizeof(*segs));
	wbuf = agent_map(WRITE_BUF);
	if (!maps || !segs || !wbuf) {
		result->status = REMORA_AGENT_NOMEM;
		goto out;
	}
	result->peak_mapped = MAPS_BUF + SEGS_MAX * sizeof(*segs) + WRITE_BUF;

	long nsegs = agent_segments(maps, MAPS_BUF, segs, SEGS_MAX);
	if (nsegs < 0) {
		result->status = REMORA_AGENT_MAPS;
		result->errnum = (int32_t)-nsegs;
		goto out;
	}
	result->segments = (uint64_t)nsegs;
	struct remora_reader reader;
	remora_reader_sort(segs, (size_t)nsegs);
	remora_reader_init(&reader, segs, (size_t)nsegs);

	long opened = remora_sys_open(args->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (remora_sys_failed(opened)) {
		result->status = REMORA_AGENT_OPEN;
		result->errnum = (int32_t)-opened;
		goto out;
	}
	fd = (int)opened;

	struct remora_writer writer;
	remora_writer_init(&writer, fd, wbuf, WRITE_BUF,
			   args->layout.python_version);
	struct remora_walk_options options = {
		.self = !(args->options & REMORA_AGENT_AS_OUTSIDE),
	};
	struct remora_walk_stats stats;
	enum remora_walk_status ws =
		remora_walk(&reader, &args->layout, &writer, &options, &stats);
	int werr = remora_writer_finish(&writer, stats.snapshot_flags);

	result->nodes = stats.nodes;
	result->edges = stats.edges;
	result->roots = stats.roots;
	result->types = stats.types;
	result->bad_objects = stats.bad_objects;
	result->read_faults = stats.read_faults;
	result->traversed = stats.traversed;
	result->peak_mapped += stats.peak_mapped;
	result->bytes_written = writer.written;
	result->snapshot_flags = stats.snapshot_flags;
	switch (ws) {
	case REMORA_WALK_OK:
		result->status = REMORA_AGENT_OK;
		break;
	case REMORA_WALK_NOMEM:
		result->status = REMORA_AGENT_NOMEM;
		break;
	case REMORA_WALK_BAD_LAYOUT:
		result->status = REMORA_AGENT_BAD_LAYOUT;
		break;
	case REMORA_WALK_NO_RUNTIME:
		result->status = REMORA_AGENT_NO_RUNTIME;
		break;
	case REMORA_WALK_WRITE:
		result->status = REMORA_AGENT_WRITE;
		break;
	}
	if (werr && result->status == REMORA_AGENT_OK) {
		result->status = REMORA_AGENT_WRITE;
		result->errnum = werr;
	}
out:
	if (fd >= 0)
		remora_sys_close(fd);
	if (wbuf)
		remora_sys_munmap(wbuf, WRITE_BUF);
	if (segs)
		remora_sys_munmap(segs, SEGS_MAX * sizeof(*segs));
	if (maps)
		remora_sys_munmap(maps, MAPS_BUF);
	return result->status;
}
