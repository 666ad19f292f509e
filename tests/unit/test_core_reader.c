/* test_core_reader.c — the core reader on synthetic x86-64 ELF cores the
 * test writes itself: PT_LOAD reads, the p_filesz..p_memsz gap, NT_FILE
 * parsing, files added for mappings (core bytes win), build-id checks,
 * truncated and foreign files.
 *
 * The standard core (std_core) maps, with 4 KiB pages:
 *
 *   0x10000 A  saved 0x1000                 pattern 'A'
 *   0x11000 B  saved 0x1000 (adjacent to A) pattern 'B'
 *   0x20000 C  saved 0x800 of 0x2000        pattern 'C'; NT_FILE 0: data.bin
 *   0x40000 L0 saved 0x1000                 libfake.so page 0, one byte changed
 *   0x41000 L1 saved 0 of 0x2000            NT_FILE 2: libfake.so from 0x1000
 *   0x43000    no PT_LOAD                   NT_FILE 3: libfake.so from 0x3000
 *                                            (the file ends at 0x3800)
 * plus NT_PRPSINFO (pid 4242) and two NT_PRSTATUS (tids 4242, 4243).
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "core_reader.h"
#include "unit.h"

/* ---- a synthetic core ---------------------------------------------------- */

enum { MAX_LOADS = 16, NOTES_CAP = 8192, PAGE = 0x1000 };

struct load {
	uint64_t vaddr, filesz, memsz;
	const uint8_t *data;   /* filesz bytes */
	uint64_t offset;       /* set by core_write */
};

struct synth {
	uint16_t type, machine;
	uint8_t class;
	bool notes_last;       /* gcore puts notes after the segments */
	struct load loads[MAX_LOADS];
	size_t nloads;
	uint8_t notes[NOTES_CAP];
	size_t notes_len;
	uint64_t notes_offset; /* set by core_write */
};

static void synth_init(struct synth *s)
{
	memset(s, 0, sizeof(*s));
	s->type = ET_CORE;
	s->machine = EM_X86_64;
	s->class = ELFCLASS64;
}

static void add_note(struct synth *s, const char *name, uint32_t type,
		     const void *desc, size_t descsz)
{
	Elf64_Nhdr nh = {
		.n_namesz = (uint32_t)strlen(name) + 1,
		.n_descsz = (uint32_t)descsz,
		.n_type = type,
	};
	size_t name_pad = (nh.n_namesz + 3u) & ~3u;
	size_t desc_pad = (descsz + 3u) & ~3u;
	CU_ASSERT_FATAL(s->notes_len + sizeof(nh) + name_pad + desc_pad <=
			NOTES_CAP);
	uint8_t *p = s->notes + s->notes_len;
	memcpy(p, &nh, sizeof(nh));
	memset(p + sizeof(nh), 0, name_pad + desc_pad);
	memcpy(p + sizeof(nh), name, nh.n_namesz);
	memcpy(p + sizeof(nh) + name_pad, desc, descsz);
	s->notes_len += sizeof(nh) + name_pad + desc_pad;
}

static void add_load(struct synth *s, uint64_t vaddr, const uint8_t *data,
		     uint64_t filesz, uint64_t memsz)
{
	CU_ASSERT_FATAL(s->nloads < MAX_LOADS);
	s->loads[s->nloads++] = (struct load){
		.vaddr = vaddr, .filesz = filesz, .memsz = memsz, .data = data,
	};
}

struct nt_file_entry {
	uint64_t start, end, pages;
	const char *path;
};

/* An NT_FILE note; count_override != 0 lies about the count. */
static void add_nt_file(struct synth *s, uint64_t page_size,
			const struct nt_file_entry *e, size_t n,
			uint64_t count_override)
{
	uint8_t desc[2048];
	size_t len = 0;
	uint64_t count = count_override ? count_override : n;
	memcpy(desc + len, &count, 8), len += 8;
	memcpy(desc + len, &page_size, 8), len += 8;
	for (size_t i = 0; i < n; i++) {
		memcpy(desc + len, &e[i].start, 8), len += 8;
		memcpy(desc + len, &e[i].end, 8), len += 8;
		memcpy(desc + len, &e[i].pages, 8), len += 8;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(e[i].path) + 1;
		memcpy(desc + len, e[i].path, l), len += l;
	}
	add_note(s, "CORE", NT_FILE, desc, len);
}

static void add_prstatus(struct synth *s, int32_t tid)
{
	uint8_t desc[336] = { 0 };
	memcpy(desc + 32, &tid, 4);
	add_note(s, "CORE", NT_PRSTATUS, desc, sizeof(desc));
}

static void add_prpsinfo(struct synth *s, int32_t pid, const char *fname,
			 const char *args)
{
	uint8_t desc[136] = { 0 };
	memcpy(desc + 24, &pid, 4);
	strncpy((char *)desc + 40, fname, 16);
	strncpy((char *)desc + 56, args, 80);
	add_note(s, "CORE", NT_PRPSINFO, desc, sizeof(desc));
}

/* Writes the core: header, PT_NOTE + PT_LOAD headers, then notes and
 * segment bytes (or segment bytes, then notes).  Returns the size. */
static size_t synth_write(struct synth *s, const char *path)
{
	size_t phnum = 1 + s->nloads;
	size_t off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
	if (!s->notes_last) {
		s->notes_offset = off;
		off += s->notes_len;
	}
	for (size_t i = 0; i < s->nloads; i++) {
		off = (off + 15) & ~(size_t)15;
		s->loads[i].offset = off;
		off += s->loads[i].filesz;
	}
	if (s->notes_last) {
		off = (off + 3) & ~(size_t)3;
		s->notes_offset = off;
		off += s->notes_len;
	}
	uint8_t *img = calloc(1, off);
	CU_ASSERT_FATAL(img != NULL);
	Elf64_Ehdr eh = {
		.e_type = s->type,
		.e_machine = s->machine,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = (uint16_t)phnum,
	};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = s->class;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &eh, sizeof(eh));
	Elf64_Phdr ph = {
		.p_type = PT_NOTE,
		.p_offset = s->notes_offset,
		.p_filesz = s->notes_len,
		.p_align = 4,
	};
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	memcpy(img + s->notes_offset, s->notes, s->notes_len);
	for (size_t i = 0; i < s->nloads; i++) {
		const struct load *l = &s->loads[i];
		ph = (Elf64_Phdr){
			.p_type = PT_LOAD,
			.p_flags = PF_R | PF_W,
			.p_offset = l->offset,
			.p_vaddr = l->vaddr,
			.p_filesz = l->filesz,
			.p_memsz = l->memsz,
			.p_align = PAGE,
		};
		memcpy(img + sizeof(eh) + (i + 1) * sizeof(ph), &ph, sizeof(ph));
		if (l->filesz)
			memcpy(img + l->offset, l->data, l->filesz);
	}
	unit_write_file(path, img, off);
	free(img);
	return off;
}

/* ---- the files and the standard core ------------------------------------- */

static const uint8_t fake_id[20] = {
	0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
};
static const uint8_t other_id[20] = {
	0xca, 0xfe, 0xba, 0xbe, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
};
enum { FAKE_SIZE = 0x3800, DATA_SIZE = 0x2000, CHANGED = 0x800 };

static uint8_t pattern(char tag, uint64_t off)
{
	return (uint8_t)(tag * 31 + off * 7 + (off >> 8));
}

/* A shared object of FAKE_SIZE bytes: ELF header, PT_LOAD + PT_NOTE, the
 * build-id note at 0x100 (none if id is NULL), pattern('F') from 0x200. */
static void fake_so(uint8_t *img, const uint8_t *id)
{
	for (size_t i = 0; i < FAKE_SIZE; i++)
		img[i] = pattern('F', i);
	memset(img, 0, 0x200);
	Elf64_Ehdr eh = {
		.e_type = ET_DYN,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 2,
	};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &eh, sizeof(eh));
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R, .p_filesz = FAKE_SIZE,
		  .p_memsz = FAKE_SIZE, .p_align = PAGE },
		{ .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = 0x100,
		  .p_vaddr = 0x100, .p_filesz = 32 + 36, .p_memsz = 32 + 36,
		  .p_align = 4 },
	};
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	/* an ABI tag first, which the parsers must skip */
	Elf64_Nhdr abi = { .n_namesz = 4, .n_descsz = 16,
			   .n_type = NT_GNU_ABI_TAG };
	memcpy(img + 0x100, &abi, sizeof(abi));
	memcpy(img + 0x10c, "GNU", 4);
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 20,
			  .n_type = id ? NT_GNU_BUILD_ID : NT_GNU_GOLD_VERSION };
	memcpy(img + 0x120, &nh, sizeof(nh));
	memcpy(img + 0x12c, "GNU", 4);
	memcpy(img + 0x130, id ? id : fake_id, 20);
}

static uint8_t fake_img[FAKE_SIZE];
static uint8_t mem_a[PAGE], mem_b[PAGE], mem_c[0x800], mem_l0[PAGE];
/* Kept: unit_path() reuses its buffers. */
static char fake_path[256], other_path[256], noid_path[256], data_path[256];

static void keep_path(char *dst, const char *name)
{
	snprintf(dst, 256, "%s", unit_path(name));
}

static const struct nt_file_entry std_files[] = {
	{ 0x20000, 0x22000, 0, "/x/data.bin" },
	{ 0x40000, 0x41000, 0, "/usr/lib/libfake.so" },
	{ 0x41000, 0x43000, 1, "/usr/lib/libfake.so" },
	{ 0x43000, 0x44000, 3, "/usr/lib/libfake.so" },
};

static void write_files(void)
{
	if (fake_path[0])
		return;
	uint8_t img[FAKE_SIZE];
	fake_so(fake_img, fake_id);
	keep_path(fake_path, "libfake.so");
	unit_write_file(fake_path, fake_img, FAKE_SIZE);
	fake_so(img, other_id);
	keep_path(other_path, "libother.so");
	unit_write_file(other_path, img, FAKE_SIZE);
	fake_so(img, NULL);
	keep_path(noid_path, "libnoid.so");
	unit_write_file(noid_path, img, FAKE_SIZE);
	uint8_t data[DATA_SIZE];
	for (size_t i = 0; i < DATA_SIZE; i++)
		data[i] = pattern('D', i);
	keep_path(data_path, "data.bin");
	unit_write_file(data_path, data, DATA_SIZE);

	for (size_t i = 0; i < PAGE; i++) {
		mem_a[i] = pattern('A', i);
		mem_b[i] = pattern('B', i);
	}
	for (size_t i = 0; i < sizeof(mem_c); i++)
		mem_c[i] = pattern('C', i);
	memcpy(mem_l0, fake_img, PAGE);
	mem_l0[CHANGED] = (uint8_t)~fake_img[CHANGED];
}

/* The standard core (see the top of the file). */
static void std_synth(struct synth *s)
{
	write_files();
	synth_init(s);
	add_prpsinfo(s, 4242, "python3.11", "python3.11 -c pass");
	add_prstatus(s, 4242);
	add_prstatus(s, 4243);
	add_nt_file(s, PAGE, std_files, 4, 0);
	add_load(s, 0x10000, mem_a, PAGE, PAGE);
	add_load(s, 0x11000, mem_b, PAGE, PAGE);
	add_load(s, 0x20000, mem_c, sizeof(mem_c), 0x2000);
	add_load(s, 0x40000, mem_l0, PAGE, PAGE);
	add_load(s, 0x41000, NULL, 0, 0x2000);
}

static struct remora_core *std_core(void)
{
	struct synth s;
	std_synth(&s);
	const char *path = unit_path("std.core");
	synth_write(&s, path);
	struct remora_core *core = NULL;
	struct remora_error *err = remora_core_open(path, &core);
	if (err)
		fprintf(stderr, "%s\n", remora_error_message(err));
	CU_ASSERT_PTR_NULL_FATAL(err);
	return core;
}

static bool message_has(struct remora_error *err, const char *what)
{
	const char *m = remora_error_message(err);
	bool ok = m && strstr(m, what);
	if (!ok)
		fprintf(stderr, "\n  message: %s\n  wanted: %s\n", m, what);
	return ok;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_notes(void)
{
	/* GIVEN the standard core WHEN opened THEN its notes are exposed */
	struct remora_core *core = std_core();
	CU_ASSERT_EQUAL(remora_core_thread_count(core), 2);
	CU_ASSERT_EQUAL(remora_core_thread_tid(core, 0), 4242);
	CU_ASSERT_EQUAL(remora_core_thread_tid(core, 1), 4243);
	CU_ASSERT_EQUAL(remora_core_thread_tid(core, 2), 0);
	CU_ASSERT_EQUAL(remora_core_pid(core), 4242);
	CU_ASSERT_STRING_EQUAL(remora_core_program(core), "python3.11");
	CU_ASSERT_STRING_EQUAL(remora_core_args(core), "python3.11 -c pass");
	CU_ASSERT_FALSE(remora_core_truncated(core, NULL, NULL));

	CU_ASSERT_EQUAL_FATAL(remora_core_file_count(core), 4);
	for (size_t i = 0; i < 4; i++) {
		uint64_t start, end, offset;
		const char *path;
		CU_ASSERT_PTR_NULL_FATAL(remora_core_file_get(core, i, &start,
							      &end, &offset,
							      &path));
		CU_ASSERT_EQUAL(start, std_files[i].start);
		CU_ASSERT_EQUAL(end, std_files[i].end);
		CU_ASSERT_EQUAL(offset, std_files[i].pages * PAGE);
		CU_ASSERT_STRING_EQUAL(path, std_files[i].path);
		CU_ASSERT_PTR_NULL(remora_core_file_local(core, i));
	}
	uint64_t a, b, c;
	const char *p;
	struct remora_error *err = remora_core_file_get(core, 4, &a, &b, &c, &p);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	remora_core_destroy(core);
	remora_core_destroy(NULL);
}

static void test_reads(void)
{
	/* GIVEN the standard core */
	struct remora_core *core = std_core();
	struct remora_reader *r = remora_core_reader(core);
	uint8_t buf[64];

	/* WHEN reading inside a segment THEN the core's bytes, host-backed */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x10010, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, mem_a + 0x10, 16), 0);
	CU_ASSERT_PTR_NOT_NULL(remora_reader_direct(r, 0x10010, 16));
	CU_ASSERT_PTR_NOT_NULL(remora_reader_direct(r, 0x40000, 64));

	/* WHEN reading across adjacent segments A|B THEN both halves */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x10ff8, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, mem_a + 0xff8, 8), 0);
	CU_ASSERT_EQUAL(memcmp(buf + 8, mem_b, 8), 0);
	CU_ASSERT_TRUE(remora_reader_host_range(r, 0x10000, 0x2000));

	/* WHEN reading the last saved bytes of C THEN they are there */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x207f8, buf, 8));
	CU_ASSERT_EQUAL(memcmp(buf, mem_c + 0x7f8, 8), 0);
	CU_ASSERT_EQUAL(r->faults, 0);

	/* WHEN reading C's p_filesz..p_memsz gap THEN a fault, not zeros */
	CU_ASSERT_FALSE(remora_reader_read(r, 0x20800, buf, 8));
	CU_ASSERT_EQUAL(r->fault_address, 0x20800);
	CU_ASSERT_FALSE(remora_reader_read(r, 0x207fc, buf, 8));
	CU_ASSERT_EQUAL(r->fault_address, 0x20800);
	CU_ASSERT_FALSE(remora_reader_read(r, 0x21ff8, buf, 8));
	/* AND a p_filesz = 0 segment, a file range without PT_LOAD, and
	 * unmapped addresses fault too */
	CU_ASSERT_FALSE(remora_reader_read(r, 0x41000, buf, 8));
	CU_ASSERT_EQUAL(r->fault_address, 0x41000);
	CU_ASSERT_FALSE(remora_reader_read(r, 0x43000, buf, 8));
	CU_ASSERT_FALSE(remora_reader_read(r, 0x12000, buf, 1));
	CU_ASSERT_FALSE(remora_reader_read(r, UINT64_MAX - 3, buf, 8));
	CU_ASSERT_FALSE(remora_reader_read(r, 0, buf, 8));
	remora_core_destroy(core);
}

static void test_add_file_fills_gap(void)
{
	/* GIVEN the standard core and data.bin for NT_FILE entry 0 */
	struct remora_core *core = std_core();
	struct remora_reader *r = remora_core_reader(core);
	uint8_t buf[16];
	/* WHEN the file is added */
	struct remora_error *err = remora_core_add_file(core, 0, data_path);
	CU_ASSERT_PTR_NULL_FATAL(err);
	CU_ASSERT_STRING_EQUAL(remora_core_file_local(core, 0), data_path);
	/* THEN the gap reads from the file, host-backed */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x20800, buf, 8));
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(buf[i], pattern('D', 0x800 + i));
	CU_ASSERT_TRUE(remora_reader_read(r, 0x21ff8, buf, 8));
	CU_ASSERT_EQUAL(buf[7], pattern('D', 0x1fff));
	CU_ASSERT_PTR_NOT_NULL(remora_reader_direct(r, 0x20900, 0x100));
	/* AND the saved bytes are still the core's (core wins) */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x20000, buf, 8));
	CU_ASSERT_EQUAL(memcmp(buf, mem_c, 8), 0);
	/* AND a read across the boundary takes each side from its source */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x207fc, buf, 8));
	CU_ASSERT_EQUAL(memcmp(buf, mem_c + 0x7fc, 4), 0);
	CU_ASSERT_EQUAL(buf[4], pattern('D', 0x800));
	/* AND past the mapping's end it still faults */
	CU_ASSERT_FALSE(remora_reader_read(r, 0x21ffc, buf, 8));
	CU_ASSERT_EQUAL(r->fault_address, 0x22000);
	remora_core_destroy(core);
}

static void test_build_ids(void)
{
	/* GIVEN the standard core, whose page 0 of libfake.so is saved */
	struct remora_core *core = std_core();
	uint8_t id[64];
	/* THEN every libfake.so entry shows the build-id of that page,
	 * including entries that do not map offset 0 */
	for (size_t i = 1; i <= 3; i++) {
		memset(id, 0, sizeof(id));
		CU_ASSERT_EQUAL(remora_core_file_build_id(core, i, id,
							  sizeof(id)), 20);
		CU_ASSERT_EQUAL(memcmp(id, fake_id, 20), 0);
	}
	/* AND a short buffer gets a prefix and the full length */
	memset(id, 0, sizeof(id));
	CU_ASSERT_EQUAL(remora_core_file_build_id(core, 1, id, 4), 20);
	CU_ASSERT_EQUAL(memcmp(id, fake_id, 4), 0);
	CU_ASSERT_EQUAL(id[4], 0);
	/* AND data.bin (no ELF header saved) and bad indexes show none */
	CU_ASSERT_EQUAL(remora_core_file_build_id(core, 0, id, sizeof(id)), 0);
	CU_ASSERT_EQUAL(remora_core_file_build_id(core, 9, id, sizeof(id)), 0);

	/* WHEN asking the files on disk THEN theirs */
	size_t len = 99;
	CU_ASSERT_PTR_NULL(remora_elf_file_build_id(fake_path, id, sizeof(id),
						    &len));
	CU_ASSERT_EQUAL(len, 20);
	CU_ASSERT_EQUAL(memcmp(id, fake_id, 20), 0);
	CU_ASSERT_PTR_NULL(remora_elf_file_build_id(other_path, id, sizeof(id),
						    &len));
	CU_ASSERT_EQUAL(len, 20);
	CU_ASSERT_EQUAL(memcmp(id, other_id, 20), 0);
	CU_ASSERT_PTR_NULL(remora_elf_file_build_id(noid_path, id, sizeof(id),
						    &len));
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NULL(remora_elf_file_build_id(data_path, id, sizeof(id),
						    &len));
	CU_ASSERT_EQUAL(len, 0);
	struct remora_error *err = remora_elf_file_build_id(
		unit_path("missing.so"), id, sizeof(id), &len);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_OS);
	remora_error_destroy(err);
	remora_core_destroy(core);
}

static void test_library_from_file(void)
{
	/* GIVEN the standard core WHEN libfake.so is added for its entries */
	struct remora_core *core = std_core();
	struct remora_reader *r = remora_core_reader(core);
	for (size_t i = 1; i <= 3; i++)
		CU_ASSERT_PTR_NULL_FATAL(remora_core_add_file(core, i,
							      fake_path));
	uint8_t buf[16];
	/* THEN the saved header page is the core's, changed byte included */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x40000 + CHANGED, buf, 1));
	CU_ASSERT_EQUAL(buf[0], mem_l0[CHANGED]);
	CU_ASSERT_NOT_EQUAL(buf[0], fake_img[CHANGED]);
	/* AND the p_filesz = 0 segment reads from the file at its offset */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x41000, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, fake_img + 0x1000, 16), 0);
	CU_ASSERT_TRUE(remora_reader_read(r, 0x42ff8, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, fake_img + 0x2ff8, 16), 0);
	/* AND so does the range without PT_LOAD, up to the file's end */
	CU_ASSERT_TRUE(remora_reader_read(r, 0x43000, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, fake_img + 0x3000, 16), 0);
	CU_ASSERT_TRUE(remora_reader_read(r, 0x437f0, buf, 16));
	CU_ASSERT_FALSE(remora_reader_read(r, 0x437f8, buf, 16));
	CU_ASSERT_EQUAL(r->fault_address, 0x43800);
	/* AND the whole library range is host-backed up to there */
	CU_ASSERT_TRUE(remora_reader_host_range(r, 0x40000, 0x3800));
	CU_ASSERT_FALSE(remora_reader_host_range(r, 0x40000, 0x3801));

	/* WHEN an entry is added again with the same file THEN no change */
	CU_ASSERT_PTR_NULL(remora_core_add_file(core, 2, fake_path));
	CU_ASSERT_TRUE(remora_reader_read(r, 0x41000, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, fake_img + 0x1000, 16), 0);
	remora_core_destroy(core);
}

static void test_build_id_mismatch(void)
{
	/* GIVEN the standard core and a library with another build-id */
	struct remora_core *core = std_core();
	struct remora_reader *r = remora_core_reader(core);
	uint8_t buf[8];
	/* WHEN it is added, for the header entry or a later one */
	for (size_t i = 1; i <= 3; i++) {
		struct remora_error *err = remora_core_add_file(core, i,
								 other_path);
		/* THEN it is refused, naming both build-ids */
		CU_ASSERT_EQUAL(remora_error_code(err),
				REMORA_ERROR_INVALID_ARGUMENT);
		CU_ASSERT_TRUE(message_has(err, "build-id mismatch"));
		CU_ASSERT_TRUE(message_has(err,
			"deadbeef0102030405060708090a0b0c0d0e0f10"));
		CU_ASSERT_TRUE(message_has(err,
			"cafebabe0102030405060708090a0b0c0d0e0f10"));
		CU_ASSERT_TRUE(message_has(err, other_path));
		remora_error_destroy(err);
		CU_ASSERT_PTR_NULL(remora_core_file_local(core, i));
	}
	/* AND the core is unchanged */
	CU_ASSERT_FALSE(remora_reader_read(r, 0x41000, buf, 8));
	/* WHEN a file without a build-id is added THEN nothing to compare */
	CU_ASSERT_PTR_NULL(remora_core_add_file(core, 2, noid_path));
	CU_ASSERT_TRUE(remora_reader_read(r, 0x41000, buf, 8));
	remora_core_destroy(core);
}

static void test_add_file_errors(void)
{
	struct remora_core *core = std_core();
	/* GIVEN a file shorter than the entry's offset THEN refused */
	const char *tiny = unit_path("tiny");
	unit_write_file(tiny, "x", 1);
	struct remora_error *err = remora_core_add_file(core, 2, tiny);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	CU_ASSERT_TRUE(message_has(err, "too short"));
	remora_error_destroy(err);
	/* a missing file, a directory, an entry that does not exist */
	err = remora_core_add_file(core, 0, unit_path("missing"));
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_OS);
	remora_error_destroy(err);
	err = remora_core_add_file(core, 0, "/");
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	err = remora_core_add_file(core, 4, data_path);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_INVALID_ARGUMENT);
	remora_error_destroy(err);
	/* AND a short file for a long range is clipped, not refused */
	const char *half = unit_path("half.bin");
	unit_write_file(half, mem_a, 0x900);
	CU_ASSERT_PTR_NULL(remora_core_add_file(core, 0, half));
	uint8_t buf[8];
	struct remora_reader *r = remora_core_reader(core);
	CU_ASSERT_TRUE(remora_reader_read(r, 0x208f8, buf, 8));
	CU_ASSERT_EQUAL(memcmp(buf, mem_a + 0x8f8, 8), 0);
	CU_ASSERT_FALSE(remora_reader_read(r, 0x208fc, buf, 8));
	CU_ASSERT_EQUAL(r->fault_address, 0x20900);
	remora_core_destroy(core);
}

static void test_truncated(void)
{
	/* GIVEN the standard core cut 0x400 bytes into segment B */
	struct synth s;
	std_synth(&s);
	const char *path = unit_path("truncated.core");
	synth_write(&s, path);
	CU_ASSERT_EQUAL_FATAL(truncate(path, (off_t)(s.loads[1].offset + 0x400)), 0);
	char size[64];
	snprintf(size, sizeof(size), "(size %llu)",
		 (unsigned long long)(s.loads[1].offset + 0x400));

	/* WHEN opened THEN a clear error */
	struct remora_core *core = NULL;
	struct remora_error *err = remora_core_open(path, &core);
	CU_ASSERT_PTR_NULL(core);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_FORMAT);
	CU_ASSERT_TRUE(message_has(err, "truncated core: segment at 0x11000 "
				   "extends past the end of the file"));
	CU_ASSERT_TRUE(message_has(err, size));
	remora_error_destroy(err);

	/* WHEN opened allowing truncation THEN clipped and flagged */
	err = remora_core_open_flags(path, REMORA_CORE_ALLOW_TRUNCATED, &core);
	CU_ASSERT_PTR_NULL_FATAL(err);
	uint64_t addr, lost;
	CU_ASSERT_TRUE(remora_core_truncated(core, &addr, &lost));
	CU_ASSERT_EQUAL(addr, 0x11400);
	CU_ASSERT_EQUAL(lost, 0xc00 + 0x800 + 0x1000);
	struct remora_reader *r = remora_core_reader(core);
	uint8_t buf[16];
	CU_ASSERT_TRUE(remora_reader_read(r, 0x113f0, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, mem_b + 0x3f0, 16), 0);
	CU_ASSERT_FALSE(remora_reader_read(r, 0x113f8, buf, 16));
	CU_ASSERT_EQUAL(r->fault_address, 0x11400);
	CU_ASSERT_FALSE(remora_reader_read(r, 0x20000, buf, 1));
	CU_ASSERT_FALSE(remora_reader_read(r, 0x40000, buf, 1));
	/* AND the notes before the segments survived */
	CU_ASSERT_EQUAL(remora_core_file_count(core), 4);
	/* AND a file fills what the core never meant to save, not what it
	 * lost (its build-id is unknown now: the header page was lost) */
	CU_ASSERT_EQUAL(remora_core_file_build_id(core, 1, buf, sizeof(buf)), 0);
	CU_ASSERT_PTR_NULL(remora_core_add_file(core, 1, fake_path));
	CU_ASSERT_PTR_NULL(remora_core_add_file(core, 2, fake_path));
	CU_ASSERT_PTR_NULL(remora_core_add_file(core, 0, data_path));
	CU_ASSERT_FALSE(remora_reader_read(r, 0x40000, buf, 1));
	CU_ASSERT_FALSE(remora_reader_read(r, 0x20000, buf, 1));
	CU_ASSERT_TRUE(remora_reader_read(r, 0x20800, buf, 1));
	CU_ASSERT_TRUE(remora_reader_read(r, 0x41000, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, fake_img + 0x1000, 16), 0);
	/* AND saved() counts the core's own bytes only: up to the cut, not
	 * what it lost, not what a file now fills */
	CU_ASSERT_TRUE(remora_core_saved(core, 0x11000, 0x400));
	CU_ASSERT_TRUE(remora_core_saved(core, 0x10000, 0x1400));
	CU_ASSERT_FALSE(remora_core_saved(core, 0x113ff, 2));
	CU_ASSERT_FALSE(remora_core_saved(core, 0x20800, 1));
	CU_ASSERT_FALSE(remora_core_saved(core, 0x41000, 16));
	CU_ASSERT_TRUE(remora_core_saved(core, 0x11000, 0));
	remora_core_destroy(core);
}

static void test_truncated_headers_and_notes(void)
{
	struct synth s;
	std_synth(&s);
	const char *path = unit_path("cut.core");
	size_t full = synth_write(&s, path);
	uint8_t *img = unit_read_file(path, &full);
	struct remora_core *core = NULL;
	struct remora_error *err;

	/* GIVEN every prefix up to the notes THEN an error, never a crash */
	for (size_t len = 0; len < s.notes_offset + 40; len += 7) {
		unit_write_file(path, img, len);
		err = remora_core_open(path, &core);
		CU_ASSERT_PTR_NOT_NULL(err);
		CU_ASSERT_PTR_NULL(core);
		if (len >= sizeof(Elf64_Ehdr) + 6 * sizeof(Elf64_Phdr))
			CU_ASSERT_TRUE(message_has(err, "truncated core"));
		remora_error_destroy(err);
		err = remora_core_open_flags(path, REMORA_CORE_ALLOW_TRUNCATED,
					     &core);
		remora_error_destroy(err);
		remora_core_destroy(core);
		core = NULL;
	}
	free(img);

	/* GIVEN a gcore-style core (notes last) cut inside its notes */
	std_synth(&s);
	s.notes_last = true;
	full = synth_write(&s, path);
	/* (inside the first NT_PRSTATUS, after the 156-byte NT_PRPSINFO) */
	CU_ASSERT_EQUAL_FATAL(truncate(path, (off_t)(s.notes_offset + 156 + 100)), 0);
	/* THEN an error naming the note segment */
	err = remora_core_open(path, &core);
	CU_ASSERT_TRUE(message_has(err, "truncated core: the note segment"));
	remora_error_destroy(err);
	/* AND, allowing truncation, the notes that fit are read */
	err = remora_core_open_flags(path, REMORA_CORE_ALLOW_TRUNCATED, &core);
	CU_ASSERT_PTR_NULL_FATAL(err);
	CU_ASSERT_EQUAL(remora_core_pid(core), 4242);
	CU_ASSERT_EQUAL(remora_core_thread_count(core), 0);
	CU_ASSERT_EQUAL(remora_core_file_count(core), 0);
	CU_ASSERT_FALSE(remora_core_truncated(core, NULL, NULL));
	uint8_t buf[8];
	CU_ASSERT_TRUE(remora_reader_read(remora_core_reader(core), 0x40000,
					  buf, 8));
	remora_core_destroy(core);
}

static void test_not_a_core(void)
{
	write_files();
	struct remora_core *core = NULL;
	struct remora_error *err;

	/* GIVEN a shared object THEN "not a core file" */
	err = remora_core_open(fake_path, &core);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_FORMAT);
	CU_ASSERT_TRUE(message_has(err, "not a core file"));
	remora_error_destroy(err);
	/* GIVEN text THEN the same */
	const char *text = unit_path("text");
	unit_write_file(text, "#!/bin/sh\necho this is no core at all\n"
			      "------------------------------------\n", 76);
	err = remora_core_open(text, &core);
	CU_ASSERT_TRUE(message_has(err, "not a core file"));
	remora_error_destroy(err);
	/* GIVEN an empty file, a directory, a missing file */
	const char *empty = unit_path("empty");
	unit_write_file(empty, "", 0);
	err = remora_core_open(empty, &core);
	CU_ASSERT_TRUE(message_has(err, "not a core file"));
	remora_error_destroy(err);
	err = remora_core_open("/", &core);
	CU_ASSERT_TRUE(message_has(err, "not a core file"));
	remora_error_destroy(err);
	err = remora_core_open(unit_path("missing.core"), &core);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_OS);
	remora_error_destroy(err);
	CU_ASSERT_PTR_NULL(core);

	/* GIVEN cores of another machine or class THEN refused */
	struct synth s;
	std_synth(&s);
	s.machine = EM_AARCH64;
	const char *path = unit_path("arm.core");
	synth_write(&s, path);
	err = remora_core_open(path, &core);
	CU_ASSERT_EQUAL(remora_error_code(err), REMORA_ERROR_FORMAT);
	CU_ASSERT_TRUE(message_has(err, "unsupported machine"));
	remora_error_destroy(err);
	std_synth(&s);
	s.class = ELFCLASS32;
	synth_write(&s, path);
	err = remora_core_open(path, &core);
	CU_ASSERT_PTR_NOT_NULL(err);
	remora_error_destroy(err);
	CU_ASSERT_PTR_NULL(core);
}

static void test_nt_file_variants(void)
{
	struct remora_core *core = NULL;
	struct remora_error *err;
	struct synth s;
	const char *path = unit_path("ntfile.core");
	static const struct nt_file_entry bytes[] = {
		{ 0x1000, 0x2000, 0x1234, "/a" },
		{ 0x3000, 0x5000, 0, "" },
		{ 0x7000, 0x8000, 0x20000, "/lib/x86_64-linux-gnu/libc.so.6 (deleted)" },
	};

	/* GIVEN an NT_FILE with page size 1 (offsets in bytes) THEN parsed */
	synth_init(&s);
	add_nt_file(&s, 1, bytes, 3, 0);
	synth_write(&s, path);
	CU_ASSERT_PTR_NULL_FATAL(remora_core_open(path, &core));
	CU_ASSERT_EQUAL_FATAL(remora_core_file_count(core), 3);
	uint64_t start, end, offset;
	const char *p;
	for (size_t i = 0; i < 3; i++) {
		CU_ASSERT_PTR_NULL(remora_core_file_get(core, i, &start, &end,
							&offset, &p));
		CU_ASSERT_EQUAL(start, bytes[i].start);
		CU_ASSERT_EQUAL(end, bytes[i].end);
		CU_ASSERT_EQUAL(offset, bytes[i].pages);
		CU_ASSERT_STRING_EQUAL(p, bytes[i].path);
	}
	/* AND no notes about threads or the process: zeros */
	CU_ASSERT_EQUAL(remora_core_thread_count(core), 0);
	CU_ASSERT_EQUAL(remora_core_pid(core), 0);
	CU_ASSERT_STRING_EQUAL(remora_core_program(core), "");
	remora_core_destroy(core);
	core = NULL;

	/* GIVEN a count larger than the note holds THEN malformed */
	synth_init(&s);
	add_nt_file(&s, PAGE, bytes, 3, 1000000);
	synth_write(&s, path);
	err = remora_core_open(path, &core);
	CU_ASSERT_TRUE(message_has(err, "malformed NT_FILE"));
	remora_error_destroy(err);
	synth_init(&s);
	add_nt_file(&s, PAGE, bytes, 3, UINT64_MAX);
	synth_write(&s, path);
	err = remora_core_open(path, &core);
	CU_ASSERT_TRUE(message_has(err, "malformed NT_FILE"));
	remora_error_destroy(err);
	/* GIVEN fewer paths than entries THEN malformed */
	synth_init(&s);
	{
		/* two entries, one path, and the path's NUL missing */
		uint64_t desc[2 + 2 * 3 + 1] = { 2, PAGE, 0x1000, 0x2000, 0,
						 0x3000, 0x4000, 0 };
		memcpy(&desc[8], "/abcdefg", 8);
		add_note(&s, "CORE", NT_FILE, desc, sizeof(desc));
	}
	synth_write(&s, path);
	err = remora_core_open(path, &core);
	CU_ASSERT_TRUE(message_has(err, "malformed NT_FILE"));
	remora_error_destroy(err);
	/* GIVEN an entry that ends before it starts THEN malformed */
	static const struct nt_file_entry backwards[] = {
		{ 0x2000, 0x1000, 0, "/a" },
	};
	synth_init(&s);
	add_nt_file(&s, PAGE, backwards, 1, 0);
	synth_write(&s, path);
	err = remora_core_open(path, &core);
	CU_ASSERT_TRUE(message_has(err, "malformed NT_FILE"));
	remora_error_destroy(err);
	CU_ASSERT_PTR_NULL(core);
}

static void test_overlapping_loads(void)
{
	/* GIVEN a malformed core whose PT_LOADs overlap */
	write_files();
	struct synth s;
	synth_init(&s);
	add_load(&s, 0x10000, mem_a, PAGE, PAGE);
	add_load(&s, 0x10800, mem_b, PAGE, PAGE);
	const char *path = unit_path("overlap.core");
	synth_write(&s, path);
	/* THEN it opens, every address has one source, reads stay inside */
	struct remora_core *core = NULL;
	CU_ASSERT_PTR_NULL_FATAL(remora_core_open(path, &core));
	struct remora_reader *r = remora_core_reader(core);
	uint8_t buf[16];
	CU_ASSERT_TRUE(remora_reader_read(r, 0x10ff8, buf, 16));
	CU_ASSERT_EQUAL(memcmp(buf, mem_a + 0xff8, 8), 0);
	CU_ASSERT_EQUAL(memcmp(buf + 8, mem_b + 0x800, 8), 0);
	CU_ASSERT_TRUE(remora_reader_read(r, 0x117f8, buf, 8));
	CU_ASSERT_FALSE(remora_reader_read(r, 0x117f8, buf, 16));
	remora_core_destroy(core);
}

static void test_corrupt_headers(void)
{
	/* GIVEN the standard core with one byte of its headers or notes
	 * changed, for every such byte and a few values */
	struct synth s;
	std_synth(&s);
	const char *path = unit_path("corrupt.core");
	size_t len = synth_write(&s, path);
	uint8_t *img = unit_read_file(path, &len);
	static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	size_t opened = 0;
	for (size_t at = 0; at < s.notes_offset + s.notes_len; at++) {
		for (size_t v = 0; v < sizeof(values); v++) {
			uint8_t saved = img[at];
			img[at] = values[v];
			unit_write_file(path, img, len);
			img[at] = saved;
			/* WHEN opened and read THEN an error or a core, no crash
			 * (run under ASan: no read outside a mapping) */
			struct remora_core *core = NULL;
			struct remora_error *err = remora_core_open_flags(
				path, REMORA_CORE_ALLOW_TRUNCATED, &core);
			remora_error_destroy(err);
			if (!core)
				continue;
			opened++;
			uint8_t buf[64];
			for (size_t i = 0; i < remora_core_file_count(core); i++)
				remora_core_file_build_id(core, i, buf, sizeof(buf));
			struct remora_reader *r = remora_core_reader(core);
			for (uint64_t a = 0x10000; a < 0x44000; a += 0x7f0)
				remora_reader_read(r, a, buf, sizeof(buf));
			remora_core_destroy(core);
		}
	}
	/* AND most single-byte changes still open */
	CU_ASSERT_TRUE(opened > 0);
	free(img);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "notes: threads, process, NT_FILE entries", test_notes },
		{ "reads: segments, adjacent, p_filesz..p_memsz faults", test_reads },
		{ "an added file fills the gap, core bytes win", test_add_file_fills_gap },
		{ "build-ids from core memory and from files", test_build_ids },
		{ "a library from its file: filesz 0, no PT_LOAD, past EOF", test_library_from_file },
		{ "build-id mismatch refused", test_build_id_mismatch },
		{ "add_file errors and clipping", test_add_file_errors },
		{ "truncated core: error, or clipped and flagged", test_truncated },
		{ "truncated headers and notes", test_truncated_headers_and_notes },
		{ "not a core: ELF type, text, machine, class", test_not_a_core },
		{ "NT_FILE: page size 1, malformed notes", test_nt_file_variants },
		{ "overlapping PT_LOADs", test_overlapping_loads },
		{ "corrupt headers and notes: errors, no crash", test_corrupt_headers },
		{ NULL, NULL },
	};
	return unit_run("core_reader", tests);
}
