/* agent_image.c — remora-agent.so laid out and relocated by hand
 * (agent_image.h).
 *
 * The file is read whole (it is small).  Its PT_LOAD segments are copied
 * to their p_vaddr in a zeroed image of the span they cover, and each
 * R_X86_64_RELATIVE relocation (found through PT_DYNAMIC's DT_RELA) writes
 * base + addend at its offset.  Symbols come from the section named by
 * SHT_DYNSYM.  Every offset and size read from the file is checked
 * against the file or the image before use.
 */
#include "agent_image.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

enum { PAGE = 4096, IMAGE_FILE_MAX = 64 << 20 };

struct remora_agent_image {
	uint8_t *file;
	size_t file_size;
	uint64_t size;          /* laid-out span, page multiple */
	uint64_t text_size;     /* pages before the first writable segment */
	const Elf64_Phdr *ph;
	size_t phnum;
	const Elf64_Rela *rela;
	size_t nrela;
	const Elf64_Sym *syms;
	size_t nsyms;
	const char *strtab;
	size_t strtab_size;
	char *path;
};

static bool in_file(const struct remora_agent_image *img, uint64_t off, uint64_t len)
{
	return off <= img->file_size && len <= img->file_size - off;
}

static struct remora_error *bad(const struct remora_agent_image *img, const char *why)
{
	return remora_error_create(REMORA_ERROR_FORMAT, "%s: not a usable remora agent: %s",
				   img->path, why);
}

static struct remora_error *image_read(struct remora_agent_image *img)
{
	int fd = open(img->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return remora_error_create_os(errno, img->path, "cannot open the agent");
	struct stat st;
	struct remora_error *err = NULL;
	if (fstat(fd, &st) < 0) {
		err = remora_error_create_os(errno, img->path, "cannot stat the agent");
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr) ||
	    st.st_size > IMAGE_FILE_MAX) {
		err = bad(img, "not a regular file of a plausible size");
		goto out;
	}
	img->file_size = (size_t)st.st_size;
	img->file = malloc(img->file_size);
	if (!img->file) {
		err = &remora_error_no_memory;
		goto out;
	}
	size_t got = 0;
	while (got < img->file_size) {
		ssize_t r = pread(fd, img->file + got, img->file_size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? remora_error_create_os(errno, img->path, "cannot read the agent")
				    : bad(img, "the file shrank while read");
			goto out;
		}
		got += (size_t)r;
	}
out:
	close(fd);
	return err;
}

/* The program headers, the span, the dynamic section's relocations. */
static struct remora_error *image_layout(struct remora_agent_image *img)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_type != ET_DYN ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(img, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)) ||
	    eh->e_phoff % 8)
		return bad(img, "not an x86-64 ELF64 shared object");
	img->ph = (const Elf64_Phdr *)(img->file + eh->e_phoff);
	img->phnum = eh->e_phnum;

	uint64_t end = 0, first_write = UINT64_MAX;
	const Elf64_Phdr *dyn = NULL;
	for (size_t i = 0; i < img->phnum; i++) {
		const Elf64_Phdr *p = &img->ph[i];
		if (p->p_type == PT_DYNAMIC)
			dyn = p;
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_filesz > p->p_memsz || !in_file(img, p->p_offset, p->p_filesz) ||
		    p->p_vaddr > IMAGE_FILE_MAX || p->p_memsz > IMAGE_FILE_MAX)
			return bad(img, "a PT_LOAD segment lies outside the file");
		if (p->p_vaddr + p->p_memsz > end)
			end = p->p_vaddr + p->p_memsz;
		if ((p->p_flags & PF_W) && (p->p_vaddr & ~(uint64_t)(PAGE - 1)) < first_write)
			first_write = p->p_vaddr & ~(uint64_t)(PAGE - 1);
	}
	if (!end || !dyn)
		return bad(img, "no PT_LOAD or no PT_DYNAMIC segment");
	img->size = (end + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	img->text_size = first_write == UINT64_MAX ? img->size : first_write;

	if (!in_file(img, dyn->p_offset, dyn->p_filesz) || dyn->p_offset % 8)
		return bad(img, "PT_DYNAMIC lies outside the file");
	const Elf64_Dyn *d = (const Elf64_Dyn *)(img->file + dyn->p_offset);
	uint64_t rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela);
	for (size_t i = 0; i < dyn->p_filesz / sizeof(*d) && d[i].d_tag != DT_NULL; i++) {
		switch (d[i].d_tag) {
		case DT_RELA: rela = d[i].d_un.d_ptr; break;
		case DT_RELASZ: relasz = d[i].d_un.d_val; break;
		case DT_RELAENT: relaent = d[i].d_un.d_val; break;
		case DT_REL: case DT_JMPREL: case DT_NEEDED:
			return bad(img, "it needs the dynamic loader (DT_REL, DT_JMPREL or DT_NEEDED)");
		default: break;
		}
	}
	if (relaent != sizeof(Elf64_Rela))
		return bad(img, "unexpected DT_RELAENT");
	if (relasz) {
		/* DT_RELA is an address: find the file offset of the segment
		 * holding it */
		const Elf64_Phdr *in = NULL;
		for (size_t i = 0; i < img->phnum; i++) {
			const Elf64_Phdr *p = &img->ph[i];
			if (p->p_type == PT_LOAD && rela >= p->p_vaddr &&
			    rela - p->p_vaddr <= p->p_filesz &&
			    relasz <= p->p_filesz - (rela - p->p_vaddr))
				in = p;
		}
		if (!in || (in->p_offset + (rela - in->p_vaddr)) % 8)
			return bad(img, "DT_RELA lies outside the file");
		img->rela = (const Elf64_Rela *)(img->file + in->p_offset + (rela - in->p_vaddr));
		img->nrela = relasz / sizeof(Elf64_Rela);
	}
	for (size_t i = 0; i < img->nrela; i++) {
		const Elf64_Rela *r = &img->rela[i];
		uint32_t type = ELF64_R_TYPE(r->r_info);
		if (type == R_X86_64_NONE)
			continue;
		if (type != R_X86_64_RELATIVE)
			return remora_error_create(REMORA_ERROR_FORMAT,
						   "%s: not a usable remora agent: relocation of type %u "
						   "(only R_X86_64_RELATIVE is applied)", img->path, type);
		if (r->r_offset > img->size || img->size - r->r_offset < 8)
			return bad(img, "a relocation lies outside the image");
	}
	return NULL;
}

/* The dynamic symbol table, through the section headers. */
static struct remora_error *image_symbols(struct remora_agent_image *img)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->file;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff % 8 ||
	    !in_file(img, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return bad(img, "no section headers");
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img->file + eh->e_shoff);
	for (size_t i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    sh[i].sh_offset % 8 || !in_file(img, sh[i].sh_offset, sh[i].sh_size))
			return bad(img, "a malformed .dynsym");
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (!in_file(img, str->sh_offset, str->sh_size) || !str->sh_size ||
		    img->file[str->sh_offset + str->sh_size - 1] != 0)
			return bad(img, "a malformed .dynstr");
		img->syms = (const Elf64_Sym *)(img->file + sh[i].sh_offset);
		img->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
		img->strtab = (const char *)img->file + str->sh_offset;
		img->strtab_size = str->sh_size;
		return NULL;
	}
	return bad(img, "no .dynsym");
}

struct remora_error *remora_agent_image_open(const char *path,
					     struct remora_agent_image **ret)
{
	*ret = NULL;
	struct remora_agent_image *img = calloc(1, sizeof(*img));
	if (!img)
		return &remora_error_no_memory;
	img->path = strdup(path);
	struct remora_error *err = img->path ? image_read(img) : &remora_error_no_memory;
	if (!err)
		err = image_layout(img);
	if (!err)
		err = image_symbols(img);
	if (err) {
		remora_agent_image_destroy(img);
		return err;
	}
	*ret = img;
	return NULL;
}

void remora_agent_image_destroy(struct remora_agent_image *img)
{
	if (!img)
		return;
	free(img->file);
	free(img->path);
	free(img);
}

uint64_t remora_agent_image_size(const struct remora_agent_image *img)
{
	return img->size;
}

uint64_t remora_agent_image_text_size(const struct remora_agent_image *img)
{
	return img->text_size;
}

int64_t remora_agent_image_symbol(const struct remora_agent_image *img, const char *name)
{
	for (size_t i = 0; i < img->nsyms; i++) {
		const Elf64_Sym *s = &img->syms[i];
		if (s->st_name >= img->strtab_size || s->st_shndx == SHN_UNDEF)
			continue;
		if (!strcmp(img->strtab + s->st_name, name) && s->st_value < img->size)
			return (int64_t)s->st_value;
	}
	return -1;
}

void remora_agent_image_render(const struct remora_agent_image *img, uint64_t base,
			       void *out)
{
	uint8_t *o = out;
	memset(o, 0, img->size);
	for (size_t i = 0; i < img->phnum; i++) {
		const Elf64_Phdr *p = &img->ph[i];
		if (p->p_type == PT_LOAD)
			memcpy(o + p->p_vaddr, img->file + p->p_offset, p->p_filesz);
	}
	for (size_t i = 0; i < img->nrela; i++) {
		const Elf64_Rela *r = &img->rela[i];
		if (ELF64_R_TYPE(r->r_info) != R_X86_64_RELATIVE)
			continue;
		uint64_t v = base + (uint64_t)r->r_addend;
		memcpy(o + r->r_offset, &v, 8);
	}
}
