/* core_reader.h — the core reader: target memory from an x86-64 Linux ELF
 * core file (the kernel's, or gdb's `gcore`) and the on-disk files its
 * NT_FILE note names, as a struct remora_reader (DESIGN.md, Readers).
 *
 * Invariants:
 *  1. A byte is readable only if the core saved it (PT_LOAD [p_vaddr,
 *     p_vaddr + p_filesz), and inside the core file) or a file added with
 *     remora_core_add_file() holds it (inside that file).  Everything else —
 *     in particular [p_vaddr + p_filesz, p_vaddr + p_memsz) with no file
 *     behind it — faults; it is never read as zeros.
 *  2. Core bytes win: a file fills only what the core did not save.  Bytes
 *     a truncated core lost stay unreadable even where a file covers them
 *     (the core meant to save them, so they may differ from the file).
 *  3. Every segment is host-backed (the core and the added files are
 *     mmap()ed read-only once each), so the walker's inline fast path
 *     applies everywhere, and no read ever leaves a mapping.  (The files
 *     are mapped, not copied: one truncated by someone else while open
 *     would raise SIGBUS, as it would for gdb itself.)
 *  4. A file whose build-id differs from the one the core's own memory
 *     shows for that mapping is refused.
 *
 * These functions are exported for gdb's Python (ctypes); gdb resolves the
 * NT_FILE paths to local files (sysroot, solib-search-path) and adds them.
 */
#ifndef REMORA_CORE_READER_H
#define REMORA_CORE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reader.h"
#include "remora/remora.h"

struct remora_core;

enum remora_core_open_flags {
	/* Accept a core cut short (ulimit -c, full disk): segments are
	 * clipped at the end of the file and the lost bytes fault; see
	 * remora_core_truncated().  Without it such a core is an error. */
	REMORA_CORE_ALLOW_TRUNCATED = 1,
};

/* Opens and validates an ET_CORE ELF64 little-endian x86-64 file: program
 * headers, notes (NT_FILE, NT_PRSTATUS, NT_PRPSINFO) and segments.  Errors
 * are REMORA_ERROR_FORMAT ("not a core file", "truncated core: segment at
 * 0x… extends past the end of the file (size …)", …) or REMORA_ERROR_OS.
 * Same as remora_core_open_flags(core_path, 0, ret). */
REMORA_EXPORT struct remora_error *
remora_core_open(const char *core_path, struct remora_core **ret);
/* flags: remora_core_open_flags. */
REMORA_EXPORT struct remora_error *
remora_core_open_flags(const char *core_path, unsigned flags,
		       struct remora_core **ret);
/* Unmaps the core and every added file; the reader and every string this
 * module returned become invalid.  NULL does nothing. */
REMORA_EXPORT void remora_core_destroy(struct remora_core *core);

/* The reader over the core's memory and the added files.  Valid until
 * remora_core_destroy(); its segment array is rebuilt by
 * remora_core_add_file(), so hold no segment pointer across that call. */
REMORA_EXPORT struct remora_reader *
remora_core_reader(struct remora_core *core);

/* Whether segments were clipped at the end of a truncated core (only with
 * REMORA_CORE_ALLOW_TRUNCATED); if so, the first lost address and the
 * number of bytes lost, through the non-NULL out-parameters. */
REMORA_EXPORT bool remora_core_truncated(const struct remora_core *core,
					 uint64_t *address_ret,
					 uint64_t *bytes_ret);

/* Whether the core saved the len bytes at addr (its own bytes, not an
 * added file's): false where a truncated core lost them, or where the
 * process had no memory. */
REMORA_EXPORT bool remora_core_saved(struct remora_core *core, uint64_t addr,
				     uint64_t len);

/* ---- process facts from the notes --------------------------------------- */

/* Number of NT_PRSTATUS notes: one per thread. */
REMORA_EXPORT size_t remora_core_thread_count(const struct remora_core *core);
/* The i-th thread's id (pr_pid of its NT_PRSTATUS), 0 if i is out of range. */
REMORA_EXPORT int32_t remora_core_thread_tid(const struct remora_core *core,
					     size_t i);
/* From NT_PRPSINFO: pid (0 if the note is missing), the program name
 * (pr_fname, at most 15 characters) and the start of its command line
 * (pr_psargs, at most 79); "" if missing.  Strings valid until destroy. */
REMORA_EXPORT int32_t remora_core_pid(const struct remora_core *core);
REMORA_EXPORT const char *remora_core_program(const struct remora_core *core);
REMORA_EXPORT const char *remora_core_args(const struct remora_core *core);

/* ---- mapped files (NT_FILE) ----------------------------------------------- */

/* Number of NT_FILE entries (0 if the core has no NT_FILE note). */
REMORA_EXPORT size_t remora_core_file_count(const struct remora_core *core);
/* Entry i: the mapping [start, end) of path from byte file_offset.  path is
 * as the target saw it (maybe " (deleted)"-suffixed) and valid until
 * destroy.  An out-of-range i is a REMORA_ERROR_INVALID_ARGUMENT error. */
REMORA_EXPORT struct remora_error *
remora_core_file_get(const struct remora_core *core, size_t i,
		     uint64_t *start_ret, uint64_t *end_ret,
		     uint64_t *file_offset_ret, const char **path_ret);
/* The local file added for entry i, or NULL.  Valid until destroy. */
REMORA_EXPORT const char *
remora_core_file_local(const struct remora_core *core, size_t i);

/* The build-id the core's memory shows for entry i's file: the
 * NT_GNU_BUILD_ID note reached through the ELF header at the start of the
 * file's offset-0 mapping, read from the core's own bytes only.  Copies up
 * to cap bytes to buf and returns the build-id's full length; 0 if unknown
 * (header page not saved, not an ELF file, no such note). */
REMORA_EXPORT size_t remora_core_file_build_id(const struct remora_core *core,
					       size_t i, void *buf, size_t cap);

/* Backs entry i's range with local_path from the entry's file offset,
 * wherever the core did not save the bytes (invariants 1, 2).  The range is
 * clipped at the end of the file; bytes past it fault.  Errors: i out of
 * range or a build-id mismatch (REMORA_ERROR_INVALID_ARGUMENT, naming both
 * build-ids), a file that ends before the entry's offset
 * (REMORA_ERROR_INVALID_ARGUMENT), open/mmap failures (REMORA_ERROR_OS).
 * On error the core is unchanged.  Adding a file for an entry again
 * replaces the previous one.  local_path is copied. */
REMORA_EXPORT struct remora_error *
remora_core_add_file(struct remora_core *core, size_t i,
		     const char *local_path);

/* The build-id of the ELF file at path (its NT_GNU_BUILD_ID note, from
 * PT_NOTE segments, else SHT_NOTE sections), copied to buf as in
 * remora_core_file_build_id(); *len_ret is the full length, 0 if the file
 * is no ELF file or has no build-id.  Fails only if path cannot be read. */
REMORA_EXPORT struct remora_error *
remora_elf_file_build_id(const char *path, void *buf, size_t cap,
			 size_t *len_ret);

#endif
