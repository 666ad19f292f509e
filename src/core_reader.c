/* core_reader.c — an ELF core file as a struct remora_reader.  Interface
 * and numbered invariants: core_reader.h.
 *
 * What a core holds, and where the reader's segments come from:
 *
 *   PT_LOAD   p_vaddr          +p_filesz               +p_memsz
 *             |== saved bytes ==|------ not saved ------|
 *              core mmap           an added file, or a fault
 *
 *   truncated core (file ends inside a segment's saved bytes):
 *             |== saved ==|xx lost xx|------ not saved ------|
 *                          always a fault (invariant 2)
 *
 *   NT_FILE entry [start, end) of path at file_offset: a file added for it
 *   backs every byte of the range that is neither saved nor lost, clipped
 *   at the file's end, whether or not a PT_LOAD covers it (gdb's gcore
 *   writes no PT_LOAD at all for mappings it does not dump; the kernel
 *   writes p_filesz < p_memsz, often one saved page of ELF headers).
 *
 * The segment array is rebuilt from those sources by core_build() at open
 * and after each remora_core_add_file(); the sources (core and files)
 * stay mapped until remora_core_destroy().
 */
#include "core_reader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* x86-64 Linux layouts of the notes we read (<sys/procfs.h>, which we do
 * not include: the host need not be x86-64 Linux to read such a core). */
enum {
	PRSTATUS_PID_OFFSET = 32,     /* struct elf_prstatus.pr_pid */
	PRPSINFO_PID_OFFSET = 24,     /* struct elf_prpsinfo.pr_pid */
	PRPSINFO_FNAME_OFFSET = 40,   /* .pr_fname[16] */
	PRPSINFO_FNAME_SIZE = 16,
	PRPSINFO_PSARGS_OFFSET = 56,  /* .pr_psargs[80] */
	PRPSINFO_PSARGS_SIZE = 80,
	NT_FILE_HEADER_SIZE = 16,     /* count, page size */
	NT_FILE_ENTRY_SIZE = 24,      /* start, end, file offset in pages */
	/* Bounds for parsing an ELF header found in target memory. */
	MEM_ELF_MAX_PHNUM = 1024,
	MEM_NOTE_MAX_SIZE = 1 << 16,
};

/* One PT_LOAD. */
struct core_load {
	uint64_t vaddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t offset;
	uint64_t saved;    /* bytes of [offset, offset + filesz) in the file */
};

/* One NT_FILE entry and the local file added for it. */
struct core_file {
	uint64_t start;
	uint64_t end;
	uint64_t offset;   /* in bytes */
	const char *path;  /* into core->file_paths */
	char *local_path;  /* NULL until remora_core_add_file() */
	size_t local;      /* index into core->locals if local_path */
};

/* A local file mapped once however many entries use it. */
struct core_local {
	dev_t dev;
	ino_t ino;
	const uint8_t *map;
	size_t size;
};

struct remora_core {
	const uint8_t *map;   /* the whole core file, read-only */
	size_t size;

	struct core_load *loads;
	size_t load_count;
	bool truncated;
	uint64_t truncated_address;
	uint64_t truncated_bytes;

	struct core_file *files;
	size_t file_count;
	char *file_paths;     /* NT_FILE's string table, copied */

	struct core_local *locals;
	size_t local_count;

	int32_t *tids;
	size_t thread_count;
	int32_t pid;
	char program[PRPSINFO_FNAME_SIZE + 1];
	char args[PRPSINFO_PSARGS_SIZE + 1];

	/* Saved core bytes only: what the build-id check may trust. */
	struct remora_segment *core_segs;
	size_t core_seg_count;
	struct remora_reader core_only;

	/* Core bytes and added files: what the walker reads. */
	struct remora_segment *segs;
	size_t seg_count;
	struct remora_reader reader;
};

/* ---- segments ------------------------------------------------------------ */

/* A candidate range for a segment.  lost: bytes a truncated core meant
 * to save; they occupy the range but give no segment. */
struct piece {
	uint64_t start;
	uint64_t end;
	const uint8_t *host;
	bool lost;
};

struct pieces {
	struct piece *p;
	size_t n;
	size_t cap;
};

static struct remora_error *pieces_push(struct pieces *ps, struct piece p)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 64;
		struct piece *q = realloc(ps->p, cap * sizeof(*q));
		if (!q)
			return &remora_error_no_memory;
		ps->p = q;
		ps->cap = cap;
	}
	ps->p[ps->n++] = p;
	return NULL;
}

static int piece_compare(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* Sorts ps by start and clips overlaps (the piece starting first keeps
 * the overlap; only malformed cores have any).  After this, ps is sorted
 * and disjoint. */
static void pieces_normalize(struct pieces *ps)
{
	if (ps->n == 0)
		return;
	qsort(ps->p, ps->n, sizeof(*ps->p), piece_compare);
	size_t out = 0;
	uint64_t covered = 0;
	for (size_t i = 0; i < ps->n; i++) {
		struct piece p = ps->p[i];
		if (out > 0 && p.start < covered) {
			if (p.end <= covered)
				continue;
			if (p.host)
				p.host += covered - p.start;
			p.start = covered;
		}
		ps->p[out++] = p;
		covered = p.end;
	}
	ps->n = out;
}

/* Appends to out the parts of each piece of b (sorted, disjoint) that no
 * piece of a (sorted, disjoint) covers. */
static struct remora_error *pieces_subtract(const struct pieces *b,
					    const struct pieces *a,
					    struct pieces *out)
{
	size_t j = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct piece p = b->p[i];
		while (j < a->n && a->p[j].end <= p.start)
			j++;
		for (size_t k = j; k < a->n && a->p[k].start < p.end; k++) {
			if (a->p[k].start > p.start) {
				struct piece gap = p;
				gap.end = a->p[k].start;
				struct remora_error *err = pieces_push(out, gap);
				if (err)
					return err;
			}
			if (a->p[k].end >= p.end) {
				p.start = p.end;
				break;
			}
			p.host += a->p[k].end - p.start;
			p.start = a->p[k].end;
		}
		if (p.start < p.end) {
			struct remora_error *err = pieces_push(out, p);
			if (err)
				return err;
		}
	}
	return NULL;
}

/* The saved and lost bytes of every PT_LOAD, sorted and disjoint. */
static struct remora_error *core_pieces(const struct remora_core *core,
					struct pieces *ps)
{
	for (size_t i = 0; i < core->load_count; i++) {
		const struct core_load *l = &core->loads[i];
		struct remora_error *err;
		if (l->saved) {
			err = pieces_push(ps, (struct piece){
				.start = l->vaddr,
				.end = l->vaddr + l->saved,
				.host = core->map + l->offset,
			});
			if (err)
				return err;
		}
		if (l->saved < l->filesz) {
			err = pieces_push(ps, (struct piece){
				.start = l->vaddr + l->saved,
				.end = l->vaddr + l->filesz,
				.lost = true,
			});
			if (err)
				return err;
		}
	}
	pieces_normalize(ps);
	return NULL;
}

/* A segment array from the pieces that have bytes, sorted. */
static struct remora_error *pieces_segments(const struct pieces *ps,
					    struct remora_segment **segs_ret,
					    size_t *count_ret)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		n += !ps->p[i].lost;
	struct remora_segment *segs = calloc(n ? n : 1, sizeof(*segs));
	if (!segs)
		return &remora_error_no_memory;
	n = 0;
	for (size_t i = 0; i < ps->n; i++) {
		if (ps->p[i].lost)
			continue;
		segs[n++] = (struct remora_segment){
			.start = ps->p[i].start,
			.end = ps->p[i].end,
			.host = ps->p[i].host,
		};
	}
	*segs_ret = segs;
	*count_ret = n;
	return NULL;
}

/* Installs segs into r, keeping its fault record. */
static void reader_reset(struct remora_reader *r, struct remora_segment *segs,
			 size_t count)
{
	uint64_t fault_address = r->fault_address, faults = r->faults;
	remora_reader_init(r, segs, count);
	r->fault_address = fault_address;
	r->faults = faults;
}

/* Builds the core-only segments (at open). */
static struct remora_error *core_build_core_only(struct remora_core *core)
{
	struct pieces ps = { 0 };
	struct remora_error *err = core_pieces(core, &ps);
	if (err)
		goto out;
	err = pieces_segments(&ps, &core->core_segs, &core->core_seg_count);
	if (err)
		goto out;
	reader_reset(&core->core_only, core->core_segs, core->core_seg_count);
out:
	free(ps.p);
	return err;
}

/* Rebuilds the full segment array from the core and the added files
 * (invariants 1–3).  On error the old array stays in place. */
static struct remora_error *core_build(struct remora_core *core)
{
	struct pieces saved = { 0 }, files = { 0 }, all = { 0 };
	struct remora_segment *segs = NULL;
	size_t count;
	struct remora_error *err = core_pieces(core, &saved);
	if (err)
		goto out;
	for (size_t i = 0; i < core->file_count; i++) {
		const struct core_file *f = &core->files[i];
		if (!f->local_path)
			continue;
		const struct core_local *l = &core->locals[f->local];
		/* add_file checked f->offset < l->size */
		uint64_t len = f->end - f->start;
		if (len > l->size - f->offset)
			len = l->size - f->offset;
		if (!len)
			continue;
		err = pieces_push(&files, (struct piece){
			.start = f->start,
			.end = f->start + len,
			.host = l->map + f->offset,
		});
		if (err)
			goto out;
	}
	pieces_normalize(&files);
	for (size_t i = 0; i < saved.n; i++) {
		err = pieces_push(&all, saved.p[i]);
		if (err)
			goto out;
	}
	err = pieces_subtract(&files, &saved, &all);
	if (err)
		goto out;
	if (all.n)
		qsort(all.p, all.n, sizeof(*all.p), piece_compare);
	err = pieces_segments(&all, &segs, &count);
	if (err)
		goto out;
	free(core->segs);
	core->segs = segs;
	core->seg_count = count;
	reader_reset(&core->reader, segs, count);
out:
	free(all.p);
	free(files.p);
	free(saved.p);
	return err;
}

/* ---- notes ----------------------------------------------------------------- */

static struct remora_error *core_format(const char *path, uint64_t offset,
					const char *what)
{
	return remora_error_create_at(REMORA_ERROR_FORMAT, offset,
				      "%s: %s (at file offset 0x%llx)", path,
				      what, (unsigned long long)offset);
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static int32_t get_i32(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Parses an NT_FILE note's descriptor (desc_offset: its file offset, for
 * errors). */
static struct remora_error *parse_nt_file(struct remora_core *core,
					  const char *path,
					  const uint8_t *desc, size_t size,
					  uint64_t desc_offset)
{
	if (size < NT_FILE_HEADER_SIZE)
		return core_format(path, desc_offset,
				   "malformed NT_FILE note: too short");
	uint64_t count = get_u64(desc), page_size = get_u64(desc + 8);
	if (count > (size - NT_FILE_HEADER_SIZE) / NT_FILE_ENTRY_SIZE)
		return core_format(path, desc_offset,
				   "malformed NT_FILE note: more entries than fit");
	if (page_size == 0)
		return core_format(path, desc_offset,
				   "malformed NT_FILE note: page size 0");
	size_t table = NT_FILE_HEADER_SIZE + (size_t)count * NT_FILE_ENTRY_SIZE;
	const char *strings = (const char *)desc + table;
	size_t strings_size = size - table;

	struct core_file *files = calloc(count ? count : 1, sizeof(*files));
	char *paths = malloc(strings_size ? strings_size : 1);
	struct remora_error *err;
	if (!files || !paths) {
		err = &remora_error_no_memory;
		goto out_free;
	}
	memcpy(paths, strings, strings_size);
	size_t pos = 0;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *e = desc + NT_FILE_HEADER_SIZE +
				   i * NT_FILE_ENTRY_SIZE;
		struct core_file *f = &files[i];
		f->start = get_u64(e);
		f->end = get_u64(e + 8);
		uint64_t pages = get_u64(e + 16);
		if (f->end < f->start) {
			err = core_format(path, desc_offset,
					  "malformed NT_FILE note: entry ends before it starts");
			goto out_free;
		}
		if (pages > UINT64_MAX / page_size) {
			err = core_format(path, desc_offset,
					  "malformed NT_FILE note: file offset overflows");
			goto out_free;
		}
		f->offset = pages * page_size;
		const char *nul = pos < strings_size ?
			memchr(paths + pos, '\0', strings_size - pos) : NULL;
		if (!nul) {
			err = core_format(path, desc_offset,
					  "malformed NT_FILE note: fewer paths than entries");
			goto out_free;
		}
		f->path = paths + pos;
		pos = (size_t)(nul - paths) + 1;
	}
	core->files = files;
	core->file_count = (size_t)count;
	core->file_paths = paths;
	return NULL;

out_free:
	free(paths);
	free(files);
	return err;
}

static struct remora_error *core_add_thread(struct remora_core *core,
					    int32_t tid)
{
	int32_t *tids = realloc(core->tids,
				(core->thread_count + 1) * sizeof(*tids));
	if (!tids)
		return &remora_error_no_memory;
	tids[core->thread_count++] = tid;
	core->tids = tids;
	return NULL;
}

static void copy_cstring(char *dst, const uint8_t *src, size_t size)
{
	memcpy(dst, src, size);
	dst[size] = '\0';
}

/* Reads the notes of one PT_NOTE segment: the file's [offset, offset +
 * size), all inside the file. */
static struct remora_error *parse_notes(struct remora_core *core, Elf *elf,
					const char *path, uint64_t offset,
					uint64_t size, uint64_t align)
{
	Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)offset,
					      (size_t)size,
					      align == 8 ? ELF_T_NHDR8 :
							   ELF_T_NHDR);
	if (!data)
		return core_format(path, offset, "unreadable note segment");
	size_t pos = 0, next;
	GElf_Nhdr nhdr;
	size_t name_off, desc_off;
	while (pos < data->d_size &&
	       (next = gelf_getnote(data, pos, &nhdr, &name_off, &desc_off))) {
		const uint8_t *name = (const uint8_t *)data->d_buf + name_off;
		const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;
		pos = next;
		if (nhdr.n_namesz != sizeof("CORE") ||
		    memcmp(name, "CORE", sizeof("CORE")) != 0)
			continue;
		struct remora_error *err = NULL;
		switch (nhdr.n_type) {
		case NT_PRSTATUS:
			if (nhdr.n_descsz >= PRSTATUS_PID_OFFSET + 4)
				err = core_add_thread(core,
					get_i32(desc + PRSTATUS_PID_OFFSET));
			break;
		case NT_PRPSINFO:
			if (nhdr.n_descsz < PRPSINFO_PSARGS_OFFSET +
					    PRPSINFO_PSARGS_SIZE)
				break;
			core->pid = get_i32(desc + PRPSINFO_PID_OFFSET);
			copy_cstring(core->program, desc + PRPSINFO_FNAME_OFFSET,
				     PRPSINFO_FNAME_SIZE);
			copy_cstring(core->args, desc + PRPSINFO_PSARGS_OFFSET,
				     PRPSINFO_PSARGS_SIZE);
			break;
		case NT_FILE:
			if (!core->files)
				err = parse_nt_file(core, path, desc,
						    nhdr.n_descsz,
						    offset + desc_off);
			break;
		}
		if (err)
			return err;
	}
	return NULL;
}

/* ---- open ------------------------------------------------------------------- */

static struct remora_error *check_header(Elf *elf, const char *path,
					 GElf_Ehdr *ehdr)
{
	if (elf_kind(elf) != ELF_K_ELF)
		return remora_error_create(REMORA_ERROR_FORMAT,
					   "%s: not a core file (not ELF)",
					   path);
	if (!gelf_getehdr(elf, ehdr))
		return remora_error_create(REMORA_ERROR_FORMAT,
					   "%s: not a core file (bad ELF header: %s)",
					   path, elf_errmsg(-1));
	if (ehdr->e_type != ET_CORE)
		return remora_error_create(REMORA_ERROR_FORMAT,
					   "%s: not a core file (ELF type %u)",
					   path, (unsigned)ehdr->e_type);
	if (ehdr->e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr->e_ident[EI_DATA] != ELFDATA2LSB ||
	    ehdr->e_machine != EM_X86_64)
		return remora_error_create(REMORA_ERROR_FORMAT,
					   "%s: core of an unsupported machine "
					   "(ELF class %u, data %u, machine %u; "
					   "remora reads 64-bit little-endian x86-64 cores)",
					   path, (unsigned)ehdr->e_ident[EI_CLASS],
					   (unsigned)ehdr->e_ident[EI_DATA],
					   (unsigned)ehdr->e_machine);
	return NULL;
}

static struct remora_error *truncated(const char *path, const char *what,
				      uint64_t where, uint64_t offset,
				      uint64_t size)
{
	return remora_error_create_at(REMORA_ERROR_FORMAT, offset,
				      "%s: truncated core: %s at 0x%llx extends past "
				      "the end of the file (size %llu)",
				      path, what, (unsigned long long)where,
				      (unsigned long long)size);
}

/* Reads the program headers: PT_LOADs into core->loads, PT_NOTEs parsed. */
static struct remora_error *read_phdrs(struct remora_core *core, Elf *elf,
				       const char *path, const GElf_Ehdr *ehdr,
				       unsigned flags)
{
	/* Not elf_getphdrnum(): it silently clips the count to the headers
	 * that fit in the file, and a truncated table must be an error. */
	uint64_t phnum = ehdr->e_phnum;
	if (phnum == PN_XNUM) {
		/* the real count is in section header 0's sh_info */
		Elf64_Shdr sh0;
		if (ehdr->e_shoff > core->size ||
		    core->size - ehdr->e_shoff < sizeof(sh0))
			return truncated(path, "section header 0",
					 ehdr->e_shoff, ehdr->e_shoff,
					 core->size);
		memcpy(&sh0, core->map + ehdr->e_shoff, sizeof(sh0));
		phnum = sh0.sh_info;
	}
	if (phnum && ehdr->e_phentsize != sizeof(Elf64_Phdr))
		return core_format(path, ehdr->e_phoff,
				   "bad program header entry size");
	if (ehdr->e_phoff > core->size ||
	    (core->size - ehdr->e_phoff) / sizeof(Elf64_Phdr) < phnum)
		return truncated(path, "the program header table",
				 ehdr->e_phoff, ehdr->e_phoff, core->size);

	core->loads = calloc(phnum ? phnum : 1, sizeof(*core->loads));
	if (!core->loads)
		return &remora_error_no_memory;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			return core_format(path, ehdr->e_phoff +
					   i * sizeof(Elf64_Phdr),
					   "unreadable program header");
		uint64_t ph_offset = ehdr->e_phoff + i * sizeof(Elf64_Phdr);
		if (ph.p_type == PT_NOTE) {
			uint64_t size = ph.p_filesz;
			if (ph.p_offset > core->size ||
			    core->size - ph.p_offset < size) {
				if (!(flags & REMORA_CORE_ALLOW_TRUNCATED))
					return truncated(path, "the note segment",
							 ph.p_offset,
							 ph.p_offset,
							 core->size);
				/* gcore writes notes last: keep what is left */
				size = ph.p_offset > core->size ? 0 :
				       core->size - ph.p_offset;
			}
			if (size) {
				struct remora_error *err = parse_notes(
					core, elf, path, ph.p_offset, size,
					ph.p_align);
				if (err)
					return err;
			}
			continue;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return core_format(path, ph_offset,
					   "PT_LOAD with p_filesz > p_memsz");
		if (ph.p_memsz > UINT64_MAX - ph.p_vaddr)
			return core_format(path, ph_offset,
					   "PT_LOAD past the end of the address space");
		struct core_load *l = &core->loads[core->load_count++];
		*l = (struct core_load){
			.vaddr = ph.p_vaddr,
			.filesz = ph.p_filesz,
			.memsz = ph.p_memsz,
			.offset = ph.p_offset,
			.saved = ph.p_filesz,
		};
		if (ph.p_offset > core->size ||
		    core->size - ph.p_offset < ph.p_filesz) {
			if (!(flags & REMORA_CORE_ALLOW_TRUNCATED))
				return truncated(path, "segment", ph.p_vaddr,
						 ph.p_offset, core->size);
			l->saved = ph.p_offset > core->size ? 0 :
				   core->size - ph.p_offset;
			uint64_t lost = ph.p_filesz - l->saved;
			if (!core->truncated ||
			    ph.p_vaddr + l->saved < core->truncated_address)
				core->truncated_address = ph.p_vaddr + l->saved;
			core->truncated = true;
			core->truncated_bytes += lost;
		}
	}
	return NULL;
}

struct remora_error *remora_core_open_flags(const char *core_path,
					    unsigned flags,
					    struct remora_core **ret)
{
	struct remora_error *err;
	*ret = NULL;
	struct remora_core *core = calloc(1, sizeof(*core));
	if (!core)
		return &remora_error_no_memory;
	int fd = open(core_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = remora_error_create_os(errno, core_path, "cannot open core");
		goto out_core;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err = remora_error_create_os(errno, core_path, "cannot stat core");
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		err = remora_error_create(REMORA_ERROR_FORMAT,
					  "%s: not a core file (%s)", core_path,
					  S_ISREG(st.st_mode) ? "too short" :
								"not a regular file");
		goto out_fd;
	}
	core->size = (size_t)st.st_size;
	void *map = mmap(NULL, core->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		err = remora_error_create_os(errno, core_path, "cannot map core");
		goto out_fd;
	}
	core->map = map;

	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		err = remora_error_create(REMORA_ERROR_FORMAT,
					  "%s: not a core file (%s)", core_path,
					  elf_errmsg(-1));
		goto out_fd;
	}
	GElf_Ehdr ehdr;
	err = check_header(elf, core_path, &ehdr);
	if (!err)
		err = read_phdrs(core, elf, core_path, &ehdr, flags);
	elf_end(elf);
	if (err)
		goto out_fd;
	err = core_build_core_only(core);
	if (err)
		goto out_fd;
	err = core_build(core);
	if (err)
		goto out_fd;
	close(fd);
	*ret = core;
	return NULL;

out_fd:
	close(fd);
out_core:
	remora_core_destroy(core);
	return err;
}

struct remora_error *remora_core_open(const char *core_path,
				      struct remora_core **ret)
{
	return remora_core_open_flags(core_path, 0, ret);
}

void remora_core_destroy(struct remora_core *core)
{
	if (!core)
		return;
	free(core->segs);
	free(core->core_segs);
	for (size_t i = 0; i < core->local_count; i++) {
		if (core->locals[i].size)
			munmap((void *)core->locals[i].map,
			       core->locals[i].size);
	}
	free(core->locals);
	for (size_t i = 0; i < core->file_count; i++)
		free(core->files[i].local_path);
	free(core->files);
	free(core->file_paths);
	free(core->tids);
	free(core->loads);
	if (core->map)
		munmap((void *)core->map, core->size);
	free(core);
}

/* ---- accessors ----------------------------------------------------------- */

struct remora_reader *remora_core_reader(struct remora_core *core)
{
	return &core->reader;
}

bool remora_core_truncated(const struct remora_core *core,
			   uint64_t *address_ret, uint64_t *bytes_ret)
{
	if (address_ret)
		*address_ret = core->truncated ? core->truncated_address : 0;
	if (bytes_ret)
		*bytes_ret = core->truncated_bytes;
	return core->truncated;
}

bool remora_core_saved(struct remora_core *core, uint64_t addr, uint64_t len)
{
	uint8_t buf[512];
	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		if (!remora_reader_read(&core->core_only, addr, buf, n))
			return false;
		addr += n;
		len -= n;
	}
	return true;
}

size_t remora_core_thread_count(const struct remora_core *core)
{
	return core->thread_count;
}

int32_t remora_core_thread_tid(const struct remora_core *core, size_t i)
{
	return i < core->thread_count ? core->tids[i] : 0;
}

int32_t remora_core_pid(const struct remora_core *core)
{
	return core->pid;
}

const char *remora_core_program(const struct remora_core *core)
{
	return core->program;
}

const char *remora_core_args(const struct remora_core *core)
{
	return core->args;
}

size_t remora_core_file_count(const struct remora_core *core)
{
	return core->file_count;
}

struct remora_error *remora_core_file_get(const struct remora_core *core,
					  size_t i, uint64_t *start_ret,
					  uint64_t *end_ret,
					  uint64_t *file_offset_ret,
					  const char **path_ret)
{
	if (i >= core->file_count)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "no NT_FILE entry %zu (the core has %zu)",
					   i, core->file_count);
	const struct core_file *f = &core->files[i];
	*start_ret = f->start;
	*end_ret = f->end;
	*file_offset_ret = f->offset;
	*path_ret = f->path;
	return NULL;
}

const char *remora_core_file_local(const struct remora_core *core, size_t i)
{
	return i < core->file_count ? core->files[i].local_path : NULL;
}

/* ---- build-ids ------------------------------------------------------------ */

static size_t build_id_copy(const void *id, size_t len, void *buf, size_t cap)
{
	if (buf && cap)
		memcpy(buf, id, len < cap ? len : cap);
	return len;
}

/* The address at which the core's memory shows byte `offset` of the file
 * whose offset-0 mapping is entry base: through the entries of the same
 * path from base upward.  False if no entry maps it. */
static bool file_offset_address(const struct remora_core *core, size_t base,
				uint64_t offset, uint64_t *addr_ret)
{
	const struct core_file *b = &core->files[base];
	const struct core_file *best = NULL;
	for (size_t i = 0; i < core->file_count; i++) {
		const struct core_file *f = &core->files[i];
		if (f->start < b->start || offset < f->offset ||
		    offset - f->offset >= f->end - f->start ||
		    strcmp(f->path, b->path) != 0)
			continue;
		if (!best || f->start < best->start)
			best = f;
	}
	if (!best)
		return false;
	*addr_ret = best->start + (offset - best->offset);
	return true;
}

/* The NT_GNU_BUILD_ID note among the notes at [addr, addr + size) of
 * target memory, read through r. */
static size_t mem_notes_build_id(struct remora_reader *r, uint64_t addr,
				 uint64_t size, uint64_t align, void *buf,
				 size_t cap)
{
	uint64_t pos = 0;
	while (pos < size && size - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		if (!remora_reader_read(r, addr + pos, &nh, sizeof(nh)))
			return 0;
		pos += sizeof(nh);
		uint64_t name_size = ((uint64_t)nh.n_namesz + align - 1) & ~(align - 1);
		uint64_t desc_size = ((uint64_t)nh.n_descsz + align - 1) & ~(align - 1);
		if (size - pos < name_size || size - pos - name_size < nh.n_descsz)
			return 0;
		char name[4];
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == sizeof("GNU") &&
		    remora_reader_read(r, addr + pos, name, sizeof(name)) &&
		    memcmp(name, "GNU", sizeof("GNU")) == 0) {
			uint8_t id[256];
			if (nh.n_descsz == 0 || nh.n_descsz > sizeof(id) ||
			    !remora_reader_read(r, addr + pos + name_size, id,
						nh.n_descsz))
				return 0;
			return build_id_copy(id, nh.n_descsz, buf, cap);
		}
		if (size - pos - name_size < desc_size)
			return 0;
		pos += name_size + desc_size;
	}
	return 0;
}

size_t remora_core_file_build_id(const struct remora_core *core, size_t i,
				 void *buf, size_t cap)
{
	if (i >= core->file_count)
		return 0;
	/* The offset-0 mapping of the same file, nearest below entry i. */
	const struct core_file *f = &core->files[i];
	size_t base = SIZE_MAX;
	for (size_t j = 0; j < core->file_count; j++) {
		const struct core_file *g = &core->files[j];
		if (g->offset == 0 && g->start <= f->start &&
		    strcmp(g->path, f->path) == 0 &&
		    (base == SIZE_MAX || g->start > core->files[base].start))
			base = j;
	}
	if (base == SIZE_MAX)
		return 0;
	/* The reader's fault record is the walker's; use a private one. */
	struct remora_reader r = core->core_only;
	uint64_t start = core->files[base].start;
	Elf64_Ehdr eh;
	if (!remora_reader_read(&r, start, &eh, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > MEM_ELF_MAX_PHNUM)
		return 0;
	for (size_t k = 0; k < eh.e_phnum; k++) {
		Elf64_Phdr ph;
		uint64_t ph_addr;
		if (eh.e_phoff > UINT64_MAX - k * sizeof(ph) ||
		    !file_offset_address(core, base, eh.e_phoff + k * sizeof(ph),
					 &ph_addr) ||
		    !remora_reader_read(&r, ph_addr, &ph, sizeof(ph)))
			return 0;
		uint64_t note_addr;
		if (ph.p_type != PT_NOTE || ph.p_filesz > MEM_NOTE_MAX_SIZE ||
		    !file_offset_address(core, base, ph.p_offset, &note_addr))
			continue;
		size_t n = mem_notes_build_id(&r, note_addr, ph.p_filesz,
					      ph.p_align == 8 ? 8 : 4, buf, cap);
		if (n)
			return n;
	}
	return 0;
}

/* The NT_GNU_BUILD_ID note of one note-typed Elf_Data. */
static size_t data_build_id(Elf_Data *data, void *buf, size_t cap)
{
	size_t pos = 0, next, name_off, desc_off;
	GElf_Nhdr nh;
	while (pos < data->d_size &&
	       (next = gelf_getnote(data, pos, &nh, &name_off, &desc_off))) {
		pos = next;
		if (nh.n_type == NT_GNU_BUILD_ID &&
		    nh.n_namesz == sizeof("GNU") && nh.n_descsz > 0 &&
		    memcmp((const char *)data->d_buf + name_off, "GNU",
			   sizeof("GNU")) == 0)
			return build_id_copy((const char *)data->d_buf + desc_off,
					     nh.n_descsz, buf, cap);
	}
	return 0;
}

/* The build-id of an ELF file open as fd; 0 if none. */
static size_t fd_build_id(int fd, void *buf, size_t cap)
{
	size_t len = 0;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return 0;
	if (elf_kind(elf) != ELF_K_ELF)
		goto out;
	size_t phnum;
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && !len; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) ||
			    ph.p_type != PT_NOTE)
				continue;
			Elf_Data *data = elf_getdata_rawchunk(
				elf, (int64_t)ph.p_offset, ph.p_filesz,
				ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			if (data)
				len = data_build_id(data, buf, cap);
		}
	}
	/* Separate debug files keep the note as a section only. */
	for (Elf_Scn *scn = NULL; !len && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (data)
			len = data_build_id(data, buf, cap);
	}
out:
	elf_end(elf);
	return len;
}

struct remora_error *remora_elf_file_build_id(const char *path, void *buf,
					      size_t cap, size_t *len_ret)
{
	*len_ret = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return remora_error_create_os(errno, path, "cannot open");
	*len_ret = fd_build_id(fd, buf, cap);
	close(fd);
	return NULL;
}

static void hex(char *out, const uint8_t *id, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ---- added files ------------------------------------------------------------ */

/* Invariant 4: refuses the file open as fd for entry i if both build-ids
 * are known and differ. */
static struct remora_error *check_build_id(const struct remora_core *core,
					   size_t i, int fd,
					   const char *local_path)
{
	uint8_t want[64], have[64];
	size_t want_len = remora_core_file_build_id(core, i, want, sizeof(want));
	size_t have_len = fd_build_id(fd, have, sizeof(have));
	if (!want_len || !have_len)
		return NULL;
	size_t n = want_len < sizeof(want) ? want_len : sizeof(want);
	if (want_len == have_len && memcmp(want, have, n) == 0)
		return NULL;
	char want_hex[2 * sizeof(want) + 1], have_hex[2 * sizeof(have) + 1];
	hex(want_hex, want, n);
	hex(have_hex, have, have_len < sizeof(have) ? have_len : sizeof(have));
	return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
				   "build-id mismatch for %s: the core shows %s, "
				   "%s has %s", core->files[i].path, want_hex,
				   local_path, have_hex);
}

/* The index of fd's file in core->locals, mapping it if new. */
static struct remora_error *core_local(struct remora_core *core, int fd,
				       const struct stat *st,
				       const char *local_path,
				       size_t *index_ret)
{
	for (size_t i = 0; i < core->local_count; i++) {
		if (core->locals[i].dev == st->st_dev &&
		    core->locals[i].ino == st->st_ino &&
		    core->locals[i].size == (size_t)st->st_size) {
			*index_ret = i;
			return NULL;
		}
	}
	struct core_local *locals = realloc(core->locals,
					    (core->local_count + 1) *
						    sizeof(*locals));
	if (!locals)
		return &remora_error_no_memory;
	core->locals = locals;
	void *map = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE,
			 fd, 0);
	if (map == MAP_FAILED)
		return remora_error_create_os(errno, local_path, "cannot map");
	locals[core->local_count] = (struct core_local){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.map = map,
		.size = (size_t)st->st_size,
	};
	*index_ret = core->local_count++;
	return NULL;
}

struct remora_error *remora_core_add_file(struct remora_core *core, size_t i,
					  const char *local_path)
{
	struct remora_error *err;
	if (i >= core->file_count)
		return remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					   "no NT_FILE entry %zu (the core has %zu)",
					   i, core->file_count);
	struct core_file *f = &core->files[i];
	int fd = open(local_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return remora_error_create_os(errno, local_path, "cannot open");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err = remora_error_create_os(errno, local_path, "cannot stat");
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					  "%s: not a regular file", local_path);
		goto out_fd;
	}
	if (f->offset >= (uint64_t)st.st_size) {
		err = remora_error_create(REMORA_ERROR_INVALID_ARGUMENT,
					  "%s is %llu bytes, too short for %s "
					  "mapped from offset 0x%llx",
					  local_path,
					  (unsigned long long)st.st_size,
					  f->path,
					  (unsigned long long)f->offset);
		goto out_fd;
	}
	err = check_build_id(core, i, fd, local_path);
	if (err)
		goto out_fd;
	char *copy = strdup(local_path);
	if (!copy) {
		err = &remora_error_no_memory;
		goto out_fd;
	}
	size_t local = 0;
	err = core_local(core, fd, &st, local_path, &local);
	if (err)
		goto out_copy;
	char *old_path = f->local_path;
	size_t old_local = f->local;
	f->local_path = copy;
	f->local = local;
	err = core_build(core);
	if (err) {
		f->local_path = old_path;
		f->local = old_local;
		goto out_copy;
	}
	free(old_path);
	close(fd);
	return NULL;

out_copy:
	free(copy);
out_fd:
	close(fd);
	return err;
}
