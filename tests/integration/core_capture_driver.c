/* core_capture_driver.c — what `py-heap` does on a core file, without gdb,
 * for test_core_damage.py to run under AddressSanitizer: gdb itself hangs
 * at startup with libasan preloaded (glibc's setlocale lock), so the ASan
 * build of libremora is exercised by this small program linked with it.
 *
 *   core_capture_driver CORE LAYOUT OUT
 *
 * Opens CORE (remora_core_open_flags, accepting a truncated core as
 * capture.py does), backs each NT_FILE entry with the file of
 * that path if it exists here (as gdb/remora/capture.py does with gdb's
 * answer; refusals are skipped, as there), captures into OUT with the
 * layout descriptor in file LAYOUT (dumped by gdb from the same
 * interpreter), then opens OUT and partitions all of it by kind, as
 * py-heap prints it.  Prints one JSON object on stdout:
 *   {"ok": true, "flags": F, "nodes": N, "bad_objects": B,
 *    "read_faults": R, "rows": K, "counted": objects in the rows,
 *    "label_bytes": L}
 * or {"ok": false, "stage": "open|capture|snapshot|partition",
 *     "error": "message"}; exits 0 either way.  A sanitizer report or a
 * signal is the only other outcome, and the test fails on both.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_reader.h"
#include "remora/remora.h"

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int fail(const char *stage, struct remora_error *err)
{
	printf("{\"ok\": false, \"stage\": \"%s\", \"error\": ", stage);
	json_string(remora_error_message(err));
	printf("}\n");
	remora_error_destroy(err);
	return 0;
}

static void *read_file(const char *path, size_t *len_ret)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	*len_ret = len;
	return buf;
}

static void add_files(struct remora_core *core)
{
	size_t n = remora_core_file_count(core);
	for (size_t i = 0; i < n; i++) {
		uint64_t start, end, off;
		const char *path;
		struct remora_error *err =
			remora_core_file_get(core, i, &start, &end, &off, &path);
		if (err) {
			remora_error_destroy(err);
			continue;
		}
		char local[4096];
		snprintf(local, sizeof(local), "%s", path);
		char *deleted = strstr(local, " (deleted)");
		if (deleted && deleted[10] == '\0')
			*deleted = '\0';
		if (access(local, R_OK) != 0)
			continue;
		err = remora_core_add_file(core, i, local);
		remora_error_destroy(err);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s CORE LAYOUT OUT\n", argv[0]);
		return 2;
	}
	size_t layout_len = 0;
	void *layout = read_file(argv[2], &layout_len);
	if (!layout) {
		perror(argv[2]);
		return 2;
	}

	struct remora_core *core = NULL;
	struct remora_error *err = remora_core_open_flags(argv[1], REMORA_CORE_ALLOW_TRUNCATED,
						     &core);
	if (err) {
		free(layout);
		return fail("open", err);
	}
	add_files(core);
	struct remora_capture_stats stats;
	memset(&stats, 0, sizeof(stats));
	int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(argv[3]);
		return 2;
	}
	err = remora_capture_reader(remora_core_reader(core), layout, layout_len,
				    fd, &stats);
	close(fd);
	remora_core_destroy(core);
	free(layout);
	if (err)
		return fail("capture", err);

	struct remora_snapshot *snap = NULL;
	err = remora_snapshot_open(argv[3], &snap);
	if (err)
		return fail("snapshot", err);
	struct remora_idset *all = NULL;
	struct remora_partition *part = NULL;
	err = remora_idset_create_all(snap, &all);
	if (!err)
		err = remora_partition_create(all, REMORA_BY_CLODO, &part);
	if (err) {
		remora_idset_destroy(all);
		remora_snapshot_destroy(snap);
		return fail("partition", err);
	}
	size_t rows = remora_partition_num_rows(part);
	uint64_t counted = 0, label_bytes = 0;
	for (size_t i = 0; i < rows; i++) {
		/* what the table prints: every label, count and size */
		const char *label = remora_partition_row_label(part, i);
		label_bytes += label ? strlen(label) : 0;
		counted += remora_partition_row_count(part, i);
		(void)remora_partition_row_size(part, i);
	}
	printf("{\"ok\": true, \"flags\": %u, \"nodes\": %llu, \"bad_objects\": %llu, "
	       "\"read_faults\": %llu, \"rows\": %zu, \"counted\": %llu, "
	       "\"label_bytes\": %llu}\n",
	       stats.snapshot_flags, (unsigned long long)stats.nodes,
	       (unsigned long long)stats.bad_objects,
	       (unsigned long long)stats.read_faults, rows,
	       (unsigned long long)counted, (unsigned long long)label_bytes);
	remora_partition_destroy(part);
	remora_idset_destroy(all);
	remora_snapshot_destroy(snap);
	return 0;
}
